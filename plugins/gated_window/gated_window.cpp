// Plugin `gated_window`: the full method: the adaptive window (keys i-w..i when
// T > adaptive_threshold, dense otherwise) with a per-head output gate
// g = sigmoid(W_g x + b_g) in R^H per token scaling each head's output.
#include "../common/kernel_variant.h"
#include "../common/options.h"

namespace {

using namespace attnlab::plugins;

constexpr attnlab_option_spec kOptions[] = {kWindowOption, kAdaptiveThresholdOption,
                                            kGateWeightStdOption, kGateBiasOption};

attnlab::AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  return new KernelVariant(
      dims, {"gated_window", read_window(options, true), true, read_gate_init(options)});
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<make>(
      "gated_window", "1.0.0",
      "adaptive window (keys i-w..i when T > adaptive_threshold) with a sigmoid per-head output "
      "gate",
      kOptions);
  return &descriptor;
}
