// The C++ interface an attention plugin implements (plugin ABI v3): a torch::nn::Module that
// turns the rotated, normalised q/k/v of one layer into per-head outputs. The model owns the
// projections, RoPE and QK-norm; the variant owns only what differs between variants
// (masking/windowing, gates and their parameters). Beyond forward and flops, every capability
// is optional with a documented default: an auxiliary loss, named statistics, cached decoding
// parameter groups, selection over the whole sequence and gate self-distillation. See
// docs/PLUGINS.md.
//
// Shape legend: B batch, H query heads, K key/value heads (H % K == 0), T query positions,
// S key positions (S == T in training), D head dim, C model width.
#pragma once
#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attnlab {

// What a variant may look at besides q/k/v.
struct AttentionContext {
  const torch::Tensor* x_BTC = nullptr;  // normalised layer input at the query positions (gates)
  int64_t layer_index = 0;
  // Absolute position of the first query (0 in training). The T queries are the last T of the
  // S key positions: query i sits at position_offset + i, key j at position_offset + T - S + j.
  int64_t position_offset = 0;
};

// Attention FLOPs of one layer for one sequence, counting only the work the variant does
// (multiply-adds count 2). Forward and backward separately.
struct AttentionFlops {
  double forward = 0.0;
  double backward = 0.0;
};

// One named statistic of the last forward, e.g. {"kept_fraction", 0.12, 0, 1}: a detached
// scalar tensor (read by the trainer only at its log interval, so recording it costs no sync)
// and the closed range it always lies in.
struct VariantStatistic {
  std::string name;  // snake_case; logged as attn/<name> (mean over layers) and per layer
  torch::Tensor value;
  double min = 0.0;
  double max = 1.0;
};

// What gate_distillation() returns for the last forward (train.distill_gate).
struct GateDistillation {
  torch::Tensor loss;    // differentiable scalar: KL(teacher || gate), reaching only gate params
  torch::Tensor recall;  // detached scalar in [0, 1]: the gate's recall of the teacher's top blocks
};

// kv_reach() of a variant whose queries may see every earlier key.
inline constexpr int64_t kUnboundedReach = -1;

class AttentionVariant : public torch::nn::Module {
 public:
  ~AttentionVariant() override = default;
  // q_BHTD [B, H, T, D], k_BKSD and v_BKSD [B, K, S, D] -> y_BHTD (before the output
  // projection). Training calls it with S == T and position_offset 0; a variant that does not
  // support_decoding() may reject anything else.
  virtual torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                                const torch::Tensor& v_BKSD, const AttentionContext& ctx) = 0;
  // FLOPs for one sequence of length T with the dims the variant was created with.
  virtual AttentionFlops flops(int64_t T) const = 0;
  // Per-head gate activations of the last forward, [B, T, H], for reports; undefined if none.
  virtual torch::Tensor last_gate_BTH() const { return {}; }

  // Decoding with a cache. Default: not supported. A variant that returns true computes the
  // same outputs for the queries at positions p..p+T-1 from the cached keys (S >= T) as a full
  // forward over the whole sequence computes at those positions.
  virtual bool supports_decoding() const { return false; }
  // The farthest back any query can look: a query at position p reads no key before
  // p - kv_reach(). kUnboundedReach (the default) means every earlier key, so a cache keeps
  // them all; a window w lets the model keep a rolling cache of w + 1 positions.
  virtual int64_t kv_reach() const { return kUnboundedReach; }
  // A differentiable scalar the trainer adds to the loss, times train.aux_loss_weight, summed
  // over layers (logged as train/aux_loss). Default: undefined (no auxiliary loss).
  virtual torch::Tensor aux_loss() const { return {}; }
  // Statistics of the last forward. Default: none.
  virtual std::vector<VariantStatistic> statistics() const { return {}; }
  // The optimizer group of one of this variant's parameters (its name as in
  // named_parameters()): "" (the default) puts it with the model's parameters; a name such as
  // "gate" lets train.param_groups.<name> set its learning-rate scale and weight decay.
  virtual std::string parameter_group(const std::string& parameter_name) const { return ""; }

  // --- ABI 3 -------------------------------------------------------------------------------
  // True when which keys and queries a head uses is chosen from scores over the whole
  // sequence (MoSA's expert choice): an output may then depend on later positions' layer
  // input x, though never on their q, k or v. Such a variant cannot decode. Default: false.
  virtual bool selects_over_sequence() const { return false; }
  // Self-distillation of a learned gate (train.distill_gate, docs/PLUGINS.md). While enabled,
  // each forward also computes the teacher, the dense causal attention map of the same q and
  // k pooled as the gate pools it, and gate_distillation() returns the gate's KL loss from it
  // and its recall of the teacher's top blocks. Default: not supported (the trainer refuses
  // train.distill_gate with a variant that returns false).
  virtual bool supports_gate_distillation() const { return false; }
  virtual void set_gate_distillation(bool /*enabled*/) {}
  virtual GateDistillation gate_distillation() const { return {}; }
};

}  // namespace attnlab
