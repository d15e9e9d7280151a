// Plugin `dma`: trainable dynamic mask attention (Shi et al. 2025). Each key gets a learned
// bias Δ = exp(A · softplus(v · W_Δ)) per kv head; each query attends, with Δ added to its
// scores, to its top-`keep` causal keys by Δ (a sliding window of `keep` keys while A = 0).
// The math lives in kernels/dynamic_mask.h; this file owns the options and the parameters.
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "../common/options.h"
#include "attnlab/attention_variant.h"
#include "attnlab/kernels/dynamic_mask.h"
#include "attnlab/kernels/head_gate.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

using namespace attnlab;

constexpr attnlab_option_spec kOptions[] = {
    {"keep", "int", "64", 1, plugins::kMaxLength, nullptr,
     "each query attends to its top-keep causal keys by delta (all of them while i+1 <= keep)"},
    {"a_init", "float", "0.0", -20, 20, nullptr,
     "A starts here; 0 makes every delta equal: a sliding window of keep keys at init"},
    {"delta_weight_init_std", "float", "0.02", 0, 10, nullptr,
     "W_delta starts ~ N(0, std^2); 0 starts it at zero"}};

class DynamicMaskVariant : public AttentionVariant {
 public:
  DynamicMaskVariant(const attnlab_layer_dims& dims, const nlohmann::json& options)
      : dims_(dims), keep_(plugin::option<int64_t>(options, "keep")) {
    if (dims.n_head <= 0 || dims.n_kv_head <= 0 || dims.n_head % dims.n_kv_head != 0 ||
        dims.head_dim <= 0) {
      fail("n_head must be a positive multiple of n_kv_head and head_dim > 0");
    }
    weight_KD_ = register_parameter("delta_weight", torch::empty({dims.n_kv_head, dims.head_dim}));
    a_K_ = register_parameter("delta_a", torch::empty({dims.n_kv_head}));
    // W_Δ ~ N(0, std²) and A = a_init: the same fill as a head gate's weight and bias.
    kernels::init_head_gate(weight_KD_, a_K_,
                            {plugin::option<double>(options, "delta_weight_init_std"),
                             plugin::option<double>(options, "a_init")});
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                        const torch::Tensor& v_BKSD, const AttentionContext&) override {
    if (q_BHTD.dim() != 4 || q_BHTD.size(1) != dims_.n_head || q_BHTD.size(3) != dims_.head_dim ||
        k_BKSD.dim() != 4 || k_BKSD.size(1) != dims_.n_kv_head || k_BKSD.size(2) < q_BHTD.size(2)) {
      fail("expected q [B, " + std::to_string(dims_.n_head) + ", T, " +
           std::to_string(dims_.head_dim) + "] and k/v [B, " + std::to_string(dims_.n_kv_head) +
           ", S, D] with S >= T (the dims it was created with)");
    }
    const int64_t T = q_BHTD.size(2), S = k_BKSD.size(2);
    const auto delta_BKS =
        kernels::dynamic_mask_delta(v_BKSD.to(weight_KD_.scalar_type()), weight_KD_, a_K_);
    const auto selection = kernels::dynamic_mask_select(delta_BKS, T, keep_);
    // Query i has S - T + i + 1 causal keys and keeps min(that, keep) of them.
    const double kept =
        kernels::dynamic_mask_pairs(S, keep_) - kernels::dynamic_mask_pairs(S - T, keep_);
    const double causal = kernels::dynamic_mask_pairs(S, S) - kernels::dynamic_mask_pairs(S - T, S);
    kept_fraction_ = torch::tensor(kept / causal, torch::kDouble);
    return kernels::dynamic_mask_attention(q_BHTD, k_BKSD, v_BKSD, delta_BKS, selection);
  }

  AttentionFlops flops(int64_t T) const override {
    const auto count =
        kernels::dynamic_mask_flops(T, keep_, dims_.n_head, dims_.n_kv_head, dims_.head_dim);
    return {count.forward, count.backward};
  }

  bool supports_decoding() const override { return true; }

  std::vector<VariantStatistic> statistics() const override {
    if (!kept_fraction_.defined()) return {};
    return {{"kept_fraction", kept_fraction_, 0.0, 1.0}};
  }

  std::string parameter_group(const std::string& name) const override {
    return name == "delta_weight" || name == "delta_a" ? "gate" : "";
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::invalid_argument("plugin dma: " + what);
  }

  attnlab_layer_dims dims_;
  int64_t keep_;
  torch::Tensor weight_KD_, a_K_, kept_fraction_;
};

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<
      attnlab::plugin::construct<DynamicMaskVariant>>(
      "dma", "1.0.0",
      "trainable dynamic mask attention: each query keeps its top-keep causal keys by a learned "
      "per-key bias delta",
      kOptions);
  return &descriptor;
}
