// Plugin `mosa`: Mixture of Sparse Attention (Piękos, Csordás, Schmidhuber 2025). Each query
// head's router σ(x W_r[h]) chooses its T / sparsity tokens by expert choice over the sequence;
// causal attention among the chosen tokens, outputs scaled by their router scores and written
// back, 0 elsewhere. The math lives in kernels/mosa.h; this file owns the options and W_r.
#include "attnlab/kernels/mosa.h"

#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "../common/options.h"
#include "attnlab/attention_variant.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

using namespace attnlab;

constexpr attnlab_option_spec kOptions[] = {
    {"sparsity", "int", "8", 1, plugins::kMaxLength, nullptr,
     "each head chooses T/sparsity tokens (at least 2, at most T) of a sequence of T"},
    plugins::kGateWeightStdOption};

class MosaVariant : public AttentionVariant {
 public:
  MosaVariant(const attnlab_layer_dims& dims, const nlohmann::json& options)
      : dims_(dims), sparsity_(plugin::option<int64_t>(options, "sparsity")) {
    if (dims.n_head <= 0 || dims.n_kv_head <= 0 || dims.n_head % dims.n_kv_head != 0 ||
        dims.head_dim <= 0 || dims.d_model <= 0) {
      fail("n_head must be a positive multiple of n_kv_head, head_dim and d_model > 0");
    }
    weight_HC_ = register_parameter("gate_weight", torch::empty({dims.n_head, dims.d_model}));
    const double std = plugin::option<double>(options, plugins::kGateWeightStdOption.name);
    torch::NoGradGuard no_grad;
    if (std > 0) {
      weight_HC_.normal_(0.0, std);
    } else {
      weight_HC_.zero_();
    }
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const AttentionContext& ctx) override {
    if (ctx.position_offset != 0 || k_BKTD.dim() != 4 || k_BKTD.size(2) != q_BHTD.size(2)) {
      fail(
          "decoding with a KV cache is not supported (expert choice ranks every token of the "
          "sequence); run full sequences with S == T and position_offset 0");
    }
    if (!ctx.x_BTC || !ctx.x_BTC->defined()) {
      fail("the router needs the layer input: AttentionContext.x_BTC is not set");
    }
    const int64_t T = q_BHTD.size(2);
    const auto score_BHT =
        kernels::mosa_router(ctx.x_BTC->to(weight_HC_.scalar_type()), weight_HC_);
    const auto selection =
        kernels::mosa_select(score_BHT, kernels::mosa_selected_tokens(T, sparsity_));
    // What multiplies each head's output: the score where chosen, 0 elsewhere.
    last_gate_BTH_ = torch::zeros_like(score_BHT)
                         .scatter(2, selection.index_BHN, selection.score_BHN.detach())
                         .permute({0, 2, 1});
    selected_fraction_ = torch::tensor(
        static_cast<double>(selection.index_BHN.size(2)) / static_cast<double>(T), torch::kDouble);
    mean_score_ = selection.score_BHN.detach().to(torch::kDouble).mean();
    return kernels::mosa_attention(q_BHTD, k_BKTD, v_BKTD, selection);
  }

  AttentionFlops flops(int64_t T) const override {
    const auto count =
        kernels::mosa_flops(T, sparsity_, dims_.n_head, dims_.head_dim, dims_.d_model);
    return {count.forward, count.backward};
  }

  torch::Tensor last_gate_BTH() const override { return last_gate_BTH_; }

  // Expert choice over the whole sequence (the paper's rule): outputs before a position may
  // depend on later tokens' router scores; the conformance suite's causality check reads this.
  bool selects_over_sequence() const override { return true; }

  std::vector<VariantStatistic> statistics() const override {
    if (!last_gate_BTH_.defined()) return {};
    return {{"selected_fraction", selected_fraction_, 0.0, 1.0},
            {"mean_selected_score", mean_score_, 0.0, 1.0}};
  }

  std::string parameter_group(const std::string& name) const override {
    return name == "gate_weight" ? "gate" : "";
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::invalid_argument("plugin mosa: " + what);
  }

  attnlab_layer_dims dims_;
  int64_t sparsity_;
  torch::Tensor weight_HC_, last_gate_BTH_, selected_fraction_, mean_score_;
};

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor =
      attnlab::plugin::describe_plugin<attnlab::plugin::construct<MosaVariant>>(
          "mosa", "1.0.0",
          "mixture of sparse attention: each head's router chooses T/sparsity tokens by expert "
          "choice, causal attention among them, outputs scaled by the router score",
          kOptions);
  return &descriptor;
}
