// Plugin `fixed_window`: causal sliding-window attention at every length; query i sees keys
// i-w..i.
#include "../common/kernel_variant.h"
#include "../common/options.h"

namespace {

using namespace attnlab::plugins;

constexpr attnlab_option_spec kOptions[] = {kWindowOption};

attnlab::AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  return new KernelVariant(dims, {"fixed_window", read_window(options, false), false, {}});
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<make>(
      "fixed_window", "1.0.0", "causal sliding-window attention (keys i-w..i) at every length",
      kOptions);
  return &descriptor;
}
