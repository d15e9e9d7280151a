// Conformance reference of plugin `fixed_window`: query i sees keys i-window..i at every length.
#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

ReferenceOutput fixed_window(const ReferenceInput& in) {
  return windowed_attention(in, in.options.at("window").get<int64_t>());
}

}  // namespace

ATTNLAB_PLUGIN_REFERENCE("fixed_window",
                         PluginReference{fixed_window, nlohmann::json::object(), {{"window", 5}}});

}  // namespace attnlab::test
