// Plugin `gated_attention`: Qiu et al. 2025's G1 gate: each head's dense causal attention
// output scaled by sigmoid(x W_θ^T) before the output projection, one gate per head and token
// (headwise) or per channel (elementwise), no bias (as in the paper).
#include "../common/kernel_variant.h"
#include "../common/options.h"

namespace {

using namespace attnlab;
using namespace attnlab::plugins;

constexpr attnlab_option_spec kGranularityOption = {
    "granularity",
    "string",
    "\"headwise\"",
    0,
    0,
    "headwise,elementwise",
    "headwise: one gate per head and token (W [H, C]); elementwise: one per channel (W [H*D, C])"};
constexpr attnlab_option_spec kOptions[] = {kGranularityOption, kGateWeightStdOption};

class GatedAttention : public AttentionVariant {
 public:
  GatedAttention(const attnlab_layer_dims& dims, bool elementwise, double weight_std)
      : dims_(dims),
        attention_(std::make_shared<KernelVariant>(
            dims, KernelVariantConfig{"gated_attention", {}, false, {}})) {
    if (dims.d_model <= 0) {
      throw std::invalid_argument("plugin gated_attention: d_model must be > 0 for the gate, got " +
                                  std::to_string(dims.d_model));
    }
    const int64_t gates = elementwise ? dims.n_head * dims.head_dim : dims.n_head;
    gate_weight_EC_ = register_parameter("gate_weight", torch::empty({gates, dims.d_model}));
    torch::NoGradGuard no_grad;
    if (weight_std > 0) {
      gate_weight_EC_.normal_(0.0, weight_std);
    } else {
      gate_weight_EC_.zero_();
    }
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                        const torch::Tensor& v_BKSD, const AttentionContext& ctx) override {
    if (!ctx.x_BTC || !ctx.x_BTC->defined()) {
      throw std::invalid_argument(
          "plugin gated_attention: the gate needs the layer input: AttentionContext.x_BTC is not "
          "set");
    }
    const auto y_BHTD = attention_->forward(q_BHTD, k_BKSD, v_BKSD, ctx);
    const auto& x_BTC = *ctx.x_BTC;
    const int64_t B = x_BTC.size(0), T = x_BTC.size(1);
    // [B, T, H, G] with G = 1 (headwise) or D (elementwise), broadcast over [B, H, T, D].
    const auto gate_BTHG =
        torch::sigmoid(
            torch::nn::functional::linear(x_BTC.to(gate_weight_EC_.scalar_type()), gate_weight_EC_))
            .view({B, T, dims_.n_head, -1});
    last_gate_BTHG_ = gate_BTHG.detach();
    return y_BHTD * gate_BTHG.permute({0, 2, 1, 3}).to(y_BHTD.scalar_type());
  }

  // Dense attention + the gate: x·W_θ^T (2·T·C·E for E gates per token) and the scaling
  // (T·H·D); the backward twice each (dx and dW; dy·g and dy·y).
  AttentionFlops flops(int64_t T) const override {
    const auto a = attention_->flops(T);
    const double gate = 2.0 * T * dims_.d_model * gate_weight_EC_.size(0);
    const double scale = 1.0 * T * dims_.n_head * dims_.head_dim;
    return {a.forward + gate + scale, a.backward + 2.0 * (gate + scale)};
  }

  // Headwise: the gate; elementwise: each head's mean over its channels.
  torch::Tensor last_gate_BTH() const override {
    return last_gate_BTHG_.defined() ? last_gate_BTHG_.mean(-1) : torch::Tensor();
  }

  bool supports_decoding() const override { return true; }

  std::vector<VariantStatistic> statistics() const override {
    if (!last_gate_BTHG_.defined()) return {};
    return {{"mean_gate", last_gate_BTHG_.mean(), 0.0, 1.0}};
  }

  std::string parameter_group(const std::string& parameter_name) const override {
    return parameter_name == "gate_weight" ? "gate" : "";
  }

 private:
  attnlab_layer_dims dims_;
  std::shared_ptr<KernelVariant> attention_;  // dense causal attention, cached when decoding
  torch::Tensor gate_weight_EC_, last_gate_BTHG_;
};

AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  return new GatedAttention(
      dims, plugin::option<std::string>(options, kGranularityOption.name) == "elementwise",
      plugin::option<double>(options, kGateWeightStdOption.name));
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<make>(
      "gated_attention", "1.0.0",
      "dense causal attention with a sigmoid output gate sigmoid(x W^T) per head or per channel "
      "(Qiu et al. 2025, G1)",
      kOptions);
  return &descriptor;
}
