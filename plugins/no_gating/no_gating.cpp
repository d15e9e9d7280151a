// Plugin `no_gating`: the paper's adaptive window without the gate: sliding window (keys
// i-w..i) when T > adaptive_threshold, dense causal attention otherwise.
#include "../common/kernel_variant.h"
#include "../common/options.h"

namespace {

using namespace attnlab::plugins;

constexpr attnlab_option_spec kOptions[] = {kWindowOption, kAdaptiveThresholdOption};

attnlab::AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  return new KernelVariant(dims, {"no_gating", read_window(options, true), false, {}});
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<make>(
      "no_gating", "1.0.0",
      "adaptive window: keys i-w..i when T > adaptive_threshold, dense otherwise; no gate",
      kOptions);
  return &descriptor;
}
