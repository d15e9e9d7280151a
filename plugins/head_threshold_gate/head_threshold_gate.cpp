// Plugin `head_threshold_gate`: the seed's adaptive sparse transformer block. Per token and
// query head a score s = σ(w_h · [pool_q; pool_k] + b_h) from block-causal means of q and k;
// heads with s < θ are switched off (straight-through in training, not computed at inference).
// The math lives in kernels/head_threshold.h; this file owns the options and the parameters.
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "../common/options.h"
#include "attnlab/attention_variant.h"
#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/head_gate.h"
#include "attnlab/kernels/head_threshold.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

using namespace attnlab;

// The shared gate bias option, starting at 1 so that every head starts on (σ(1) ≈ 0.73 > θ).
constexpr attnlab_option_spec kBiasOption = [] {
  auto spec = plugins::kGateBiasOption;
  spec.default_value = "1.0";
  return spec;
}();

constexpr attnlab_option_spec kOptions[] = {
    {"block", "int", "64", 1, plugins::kMaxLength, nullptr,
     "q and k are pooled over [floor(t/block)*block, t] for the score"},
    {"threshold", "float", "0.3", 0, 1, nullptr, "head h is on at token t when s >= threshold"},
    {"mode", "string", "\"straight_through\"", 0, 0, "straight_through,soft",
     "training mask: 1[s >= threshold] with the gradient of s, or s itself"},
    plugins::kGateWeightStdOption,
    kBiasOption};

class HeadThresholdVariant : public AttentionVariant {
 public:
  HeadThresholdVariant(const attnlab_layer_dims& dims, const nlohmann::json& options)
      : dims_(dims),
        block_(plugin::option<int64_t>(options, "block")),
        threshold_(plugin::option<double>(options, "threshold")),
        mode_(plugin::option<std::string>(options, "mode") == "soft"
                  ? kernels::HeadThresholdMode::kSoft
                  : kernels::HeadThresholdMode::kStraightThrough) {
    if (dims.n_head <= 0 || dims.n_kv_head <= 0 || dims.n_head % dims.n_kv_head != 0 ||
        dims.head_dim <= 0) {
      fail("n_head must be a positive multiple of n_kv_head and head_dim > 0");
    }
    weight_H2D_ = register_parameter("gate_weight", torch::empty({dims.n_head, 2 * dims.head_dim}));
    bias_H_ = register_parameter("gate_bias", torch::empty({dims.n_head}));
    kernels::init_head_gate(weight_H2D_, bias_H_, plugins::read_gate_init(options));
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const AttentionContext& ctx) override {
    if (ctx.position_offset != 0 || k_BKTD.dim() != 4 || k_BKTD.size(2) != q_BHTD.size(2)) {
      fail(
          "decoding with a KV cache is not supported (the score pools earlier queries, which "
          "a cache does not keep); run full sequences with S == T and position_offset 0");
    }
    const auto param_type = weight_H2D_.scalar_type();
    const auto score_BTH = kernels::head_threshold_score(
        q_BHTD.to(param_type), k_BKTD.to(param_type), weight_H2D_, bias_H_, block_);
    const auto mask_BTH = kernels::head_threshold_mask(score_BTH, threshold_, mode_, is_training())
                              .to(q_BHTD.scalar_type());
    const auto active_BTH = score_BTH.detach() >= threshold_;
    last_gate_BTH_ = score_BTH.detach();
    active_fraction_ = active_BTH.to(torch::kDouble).mean();
    measured_in_eval_ = false;
    if (is_training()) {
      return kernels::gated_causal_attention(q_BHTD, k_BKTD, v_BKTD, mask_BTH, {});
    }
    measured_in_eval_ = true;
    return kernels::active_rows_attention(q_BHTD, k_BKTD, v_BKTD, active_BTH) *
           mask_BTH.permute({0, 2, 1}).unsqueeze(-1);
  }

  // In eval mode after a forward, the attention part is scaled by the active fraction measured.
  AttentionFlops flops(int64_t T) const override {
    const double active =
        is_training() || !measured_in_eval_ ? 1.0 : active_fraction_.item<double>();
    const auto count =
        kernels::head_threshold_flops(T, dims_.n_head, dims_.n_kv_head, dims_.head_dim, active);
    return {count.forward, count.backward};
  }

  torch::Tensor last_gate_BTH() const override { return last_gate_BTH_; }

  std::vector<VariantStatistic> statistics() const override {
    if (!last_gate_BTH_.defined()) return {};
    return {{"active_heads", active_fraction_, 0.0, 1.0},
            {"mean_gate", last_gate_BTH_.to(torch::kDouble).mean(), 0.0, 1.0}};
  }

  std::string parameter_group(const std::string& name) const override {
    return name == "gate_weight" || name == "gate_bias" ? "gate" : "";
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::invalid_argument("plugin head_threshold_gate: " + what);
  }

  attnlab_layer_dims dims_;
  int64_t block_;
  double threshold_;
  kernels::HeadThresholdMode mode_;
  torch::Tensor weight_H2D_, bias_H_, last_gate_BTH_, active_fraction_;
  bool measured_in_eval_ = false;  // the last forward ran in eval mode (active_fraction_ is its)
};

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor =
      attnlab::plugin::describe_plugin<attnlab::plugin::construct<HeadThresholdVariant>>(
          "head_threshold_gate", "1.0.0",
          "dense causal attention whose (token, head) outputs are switched off when a score from "
          "block-pooled q and k falls under a threshold",
          kOptions);
  return &descriptor;
}
