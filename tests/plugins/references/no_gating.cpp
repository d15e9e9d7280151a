// Conformance reference of plugin `no_gating`: keys i-window..i when T > adaptive_threshold,
// dense causal attention otherwise.
#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

ReferenceOutput no_gating(const ReferenceInput& in) {
  return windowed_attention(in, adaptive_window(in.options, in.q_BHTD.size(2)));
}

}  // namespace

ATTNLAB_PLUGIN_REFERENCE("no_gating", PluginReference{no_gating,
                                                      nlohmann::json::object(),
                                                      {{"window", 5}, {"adaptive_threshold", 16}}});

}  // namespace attnlab::test
