// Plugin `moh`: Mixture-of-Head attention (Jin et al. 2024). Every head computes dense causal
// attention; per token `shared_heads` heads are always active and the router picks `top_k` of the
// others, each head's output scaled by its two-stage routing weight (kernels/moh.h), with the
// paper's load-balancing loss as aux_loss(). This file owns the options and the parameters.
#include "attnlab/kernels/moh.h"

#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "../common/options.h"
#include "attnlab/attention_variant.h"
#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/cached_attention.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

using namespace attnlab;

constexpr attnlab_option_spec kOptions[] = {
    {"shared_heads", "int", "1", 0, plugins::kMaxLength, nullptr,
     "heads 0..shared_heads-1 are active for every token (at most n_head)"},
    {"top_k", "int", "2", 0, plugins::kMaxLength, nullptr,
     "routed heads chosen per token, in [1, n_head - shared_heads] (0 when every head is shared)"},
    plugins::kGateWeightStdOption};

class MohVariant : public AttentionVariant {
 public:
  MohVariant(const attnlab_layer_dims& dims, const nlohmann::json& options)
      : dims_(dims),
        shared_(plugin::option<int64_t>(options, "shared_heads")),
        top_k_(plugin::option<int64_t>(options, "top_k")) {
    const int64_t H = dims.n_head, routed = H - shared_;
    if (H <= 0 || dims.n_kv_head <= 0 || H % dims.n_kv_head != 0 || dims.head_dim <= 0 ||
        dims.d_model <= 0) {
      fail("n_head must be a positive multiple of n_kv_head, head_dim and d_model > 0");
    }
    if (routed < 0) {
      fail("attention.options.shared_heads (" + std::to_string(shared_) +
           ") must be at most n_head (" + std::to_string(H) + ")");
    }
    if (routed == 0 ? top_k_ != 0 : (top_k_ < 1 || top_k_ > routed)) {
      fail("attention.options.top_k (" + std::to_string(top_k_) + ") must be in [1, " +
           std::to_string(routed) + "] (n_head - shared_heads; 0 when every head is shared)");
    }
    const double init_std = plugin::option<double>(options, plugins::kGateWeightStdOption.name);
    if (shared_ >= 2) router_.shared_SC = add_router("router_shared_weight", shared_, init_std);
    if (routed > 0) router_.routed_RC = add_router("router_routed_weight", routed, init_std);
    if (shared_ > 0 && routed > 0) router_.mix_2C = add_router("router_mix_weight", 2, init_std);
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                        const torch::Tensor& v_BKSD, const AttentionContext& ctx) override {
    if (!ctx.x_BTC || !ctx.x_BTC->defined()) {
      fail("the router needs the layer input: AttentionContext.x_BTC is not set");
    }
    const int64_t T = q_BHTD.size(2), S = k_BKSD.size(2);
    const auto weights = parameters();  // none when a single head is shared
    const auto x_BTC = weights.empty() ? *ctx.x_BTC : ctx.x_BTC->to(weights[0].scalar_type());
    routing_ = kernels::moh_route(x_BTC, router_, dims_.n_head, shared_, top_k_);
    const auto gate_BTH = routing_.gate_BTH.to(q_BHTD.scalar_type());
    if (S != T || ctx.position_offset != 0) {  // decoding; cached_attention checks the offset
      kernels::CachedAttentionParams params;
      params.key_offset = ctx.position_offset + T - S;
      params.gate_BTH = gate_BTH;
      return kernels::cached_attention(q_BHTD, k_BKSD, v_BKSD, params);
    }
    return kernels::gated_causal_attention(q_BHTD, k_BKSD, v_BKSD, gate_BTH, {});
  }

  AttentionFlops flops(int64_t T) const override {
    const auto count =
        kernels::moh_flops(T, dims_.d_model, dims_.n_head, dims_.head_dim, router_outputs());
    return {count.forward, count.backward};
  }

  torch::Tensor last_gate_BTH() const override {
    return routing_.gate_BTH.defined() ? routing_.gate_BTH.detach() : torch::Tensor();
  }

  bool supports_decoding() const override { return true; }

  torch::Tensor aux_loss() const override { return kernels::moh_load_balance_loss(routing_); }

  // active_heads: the fraction of (token, head) pairs with a non-zero weight; shared_weight: the
  // mean α₁; max_routed_load: the fraction of tokens choosing the busiest routed head.
  std::vector<VariantStatistic> statistics() const override {
    if (!routing_.gate_BTH.defined()) return {};
    std::vector<VariantStatistic> stats;
    auto active = torch::tensor(static_cast<double>(shared_), torch::kDouble);
    if (routing_.chosen_BTR.defined()) {
      const auto load_R = routing_.chosen_BTR.to(torch::kDouble).mean(torch::IntArrayRef{0, 1});
      active = active + load_R.sum();
      stats.push_back({"max_routed_load", load_R.max(), 0.0, 1.0});
    }
    stats.push_back({"active_heads", active / dims_.n_head, 0.0, 1.0});
    if (routing_.shared_mix_BT.defined()) {
      stats.push_back(
          {"shared_weight", routing_.shared_mix_BT.to(torch::kDouble).mean(), 0.0, 1.0});
    }
    return stats;
  }

  std::string parameter_group(const std::string& name) const override {
    return name.rfind("router_", 0) == 0 ? "gate" : "";
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::invalid_argument("plugin moh: " + what);
  }

  torch::Tensor add_router(const std::string& name, int64_t rows, double init_std) {
    auto weight = register_parameter(name, torch::zeros({rows, dims_.d_model}));
    torch::NoGradGuard no_grad;
    if (init_std > 0) weight.normal_(0.0, init_std);
    return weight;
  }

  int64_t router_outputs() const {
    int64_t outputs = 0;
    for (const auto& w : {router_.shared_SC, router_.routed_RC, router_.mix_2C}) {
      if (w.defined()) outputs += w.size(0);
    }
    return outputs;
  }

  attnlab_layer_dims dims_;
  int64_t shared_, top_k_;
  kernels::MohRouterWeights router_;
  kernels::MohRouting routing_;  // of the last forward
};

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<
      attnlab::plugin::construct<MohVariant>>(
      "moh", "1.0.0",
      "Mixture-of-Head attention: shared heads plus the top-k routed heads per token, each head "
      "weighted by a two-stage router, with a load-balancing loss (Jin et al. 2024)",
      kOptions);
  return &descriptor;
}
