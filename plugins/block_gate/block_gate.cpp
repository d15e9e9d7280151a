// Plugin `block_gate`: a SeerAttention-style learned block gate (Gao et al. 2024). Gate vectors
// from block-pooled q and k (projected per kv head, RoPE at the block starts) score the key
// blocks of each query; a query attends to block 0, its own block and its top blocks, with the
// gate's log-probability as a bias. Self-distillation hooks (plugin ABI 3) train the gate on the
// dense attention's block-pooled map. The math lives in kernels/block_gate.h; this file owns the
// options, the projections and what the last forward measured.
#include "attnlab/kernels/block_gate.h"

#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "../common/options.h"
#include "attnlab/attention_variant.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

using namespace attnlab;

constexpr attnlab_option_spec kOptions[] = {
    {"block_size", "int", "64", 1, plugins::kMaxLength, nullptr, "positions per block (L)"},
    {"top_blocks", "int", "4", 0, plugins::kMaxLength, nullptr,
     "middle blocks each query keeps besides block 0 and its own (and the recall's top-k)"},
    {"threshold", "float", "0.0", 0, 1, nullptr,
     "> 0: keep the middle blocks whose gate probability is >= threshold instead of top_blocks"},
    {"gate_dim", "int", "0", 0, plugins::kMaxLength, nullptr,
     "width of the gate vectors, even; 0 = head_dim"},
    {"rope_theta", "float", "10000.0", 1, 1e12, nullptr,
     "RoPE base for the gate vectors at the block starts; set it to the model's rope_theta"},
    plugins::kGateWeightStdOption};

class BlockGateVariant : public AttentionVariant {
 public:
  BlockGateVariant(const attnlab_layer_dims& dims, const nlohmann::json& options) : dims_(dims) {
    params_.block_size = plugin::option<int64_t>(options, "block_size");
    params_.top_blocks = plugin::option<int64_t>(options, "top_blocks");
    params_.threshold = plugin::option<double>(options, "threshold");
    params_.rope_theta = plugin::option<double>(options, "rope_theta");
    const auto gate_dim = plugin::option<int64_t>(options, "gate_dim");
    gate_dim_ = gate_dim == 0 ? dims.head_dim : gate_dim;
    if (dims.n_head <= 0 || dims.n_kv_head <= 0 || dims.n_head % dims.n_kv_head != 0 ||
        dims.head_dim <= 0) {
      fail("n_head must be a positive multiple of n_kv_head and head_dim > 0");
    }
    if (gate_dim_ % 2 != 0) {
      fail("attention.options.gate_dim (" + std::to_string(gate_dim_) +
           ", 0 = head_dim) must be even: RoPE rotates pairs; choose an even gate_dim");
    }
    const double std = plugin::option<double>(options, plugins::kGateWeightStdOption.name);
    weights_.query_KGD = add_projection("gate_query_weight", std);
    weights_.key_KGD = add_projection("gate_key_weight", std);
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const AttentionContext& ctx) override {
    if (ctx.position_offset != 0 || k_BKTD.dim() != 4 || k_BKTD.size(2) != q_BHTD.size(2)) {
      fail(
          "decoding with a KV cache is not supported (the gate pools the queries and keys of "
          "each block); run full sequences with S == T and position_offset 0");
    }
    const auto dtype = weights_.query_KGD.scalar_type();
    auto gate_q = q_BHTD.to(dtype), gate_k = k_BKTD.to(dtype);
    if (distilling_) {  // the gate alone learns: no gradient to q/k through it
      gate_q = gate_q.detach();
      gate_k = gate_k.detach();
    }
    const auto gate = kernels::block_gate(gate_q, gate_k, weights_, params_);
    const auto kept = kernels::block_gate_kept(gate.kept_BKTN, params_.block_size);
    kept_block_fraction_ = kept.block_fraction;
    kept_key_fraction_ = kept.key_fraction;
    distillation_ = {};
    if (distilling_) {
      const auto teacher = kernels::block_gate_teacher(gate_q, gate_k, params_.block_size);
      const auto d =
          kernels::block_gate_distillation(teacher, gate, params_.block_size, params_.top_blocks);
      distillation_ = {d.loss, d.recall};
    }
    return kernels::block_gate_attention(q_BHTD, k_BKTD, v_BKTD, gate, params_.block_size);
  }

  // Top-k: the kept pairs follow from T. Threshold: the kept fraction the last forward
  // measured (1 before a forward) times the causal pairs.
  AttentionFlops flops(int64_t T) const override {
    const double causal = static_cast<double>(T) * static_cast<double>(T + 1) / 2;
    const double pairs =
        params_.threshold > 0
            ? (kept_key_fraction_.defined() ? kept_key_fraction_.item<double>() : 1.0) * causal
            : kernels::block_gate_topk_pairs(T, params_.block_size, params_.top_blocks);
    const auto count = kernels::block_gate_flops(T, dims_.n_head, dims_.n_kv_head, dims_.head_dim,
                                                 gate_dim_, params_.block_size, pairs);
    return {count.forward, count.backward};
  }

  std::vector<VariantStatistic> statistics() const override {
    if (!kept_block_fraction_.defined()) return {};
    std::vector<VariantStatistic> stats = {{"kept_block_fraction", kept_block_fraction_, 0, 1}};
    if (distillation_.recall.defined()) {
      stats.push_back({"distill_recall", distillation_.recall, 0, 1});
    }
    return stats;
  }

  std::string parameter_group(const std::string& name) const override {
    return name.rfind("gate_", 0) == 0 ? "gate" : "";
  }

  bool supports_gate_distillation() const override { return true; }
  void set_gate_distillation(bool enabled) override {
    distilling_ = enabled;
    distillation_ = {};
  }
  GateDistillation gate_distillation() const override { return distillation_; }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::invalid_argument("plugin block_gate: " + what);
  }

  torch::Tensor add_projection(const std::string& name, double std) {
    auto weight =
        register_parameter(name, torch::zeros({dims_.n_kv_head, gate_dim_, dims_.head_dim}));
    torch::NoGradGuard no_grad;
    if (std > 0) weight.normal_(0.0, std);
    return weight;
  }

  attnlab_layer_dims dims_;
  kernels::BlockGateParams params_;
  int64_t gate_dim_ = 0;
  kernels::BlockGateWeights weights_;
  bool distilling_ = false;
  GateDistillation distillation_;  // of the last forward, while distilling
  torch::Tensor kept_block_fraction_, kept_key_fraction_;
};

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<
      attnlab::plugin::construct<BlockGateVariant>>(
      "block_gate", "1.0.0",
      "SeerAttention-style learned block gate: each query attends to block 0, its own block and "
      "its top blocks by gate score, with gate self-distillation (Gao et al. 2024)",
      kOptions);
  return &descriptor;
}
