// Plugin `gated_dense`: the per-head output gate g = sigmoid(W_g x + b_g) over dense causal
// attention (the "No Window" row of the ablation).
#include "../common/kernel_variant.h"
#include "../common/options.h"

namespace {

using namespace attnlab::plugins;

constexpr attnlab_option_spec kOptions[] = {kGateWeightStdOption, kGateBiasOption};

attnlab::AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  return new KernelVariant(dims, {"gated_dense", {}, true, read_gate_init(options)});
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<make>(
      "gated_dense", "1.0.0", "dense causal attention with a sigmoid per-head output gate",
      kOptions);
  return &descriptor;
}
