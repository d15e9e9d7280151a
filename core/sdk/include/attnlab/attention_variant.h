// The C++ interface an attention plugin implements: a torch::nn::Module that turns the
// rotated, normalised q/k/v of one layer into per-head outputs. The model owns the
// projections, RoPE and QK-norm; the variant owns only what differs between variants
// (masking/windowing, gates and their parameters). See docs/PLUGINS.md.
//
// Shape legend: B batch, H query heads, K key/value heads (H % K == 0), T sequence length,
// D head dim, C model width.
#pragma once
#include <torch/nn/module.h>

#include <cstdint>

namespace attnlab {

// What a variant may look at besides q/k/v.
struct AttentionContext {
  const torch::Tensor* x_BTC = nullptr;  // normalised input of the layer (for gates)
  int64_t layer_index = 0;
  int64_t position_offset = 0;           // position of token 0 (0 unless decoding with a cache)
};

// Attention FLOPs of one layer for one sequence, counting only the work the variant does
// (multiply-adds count 2). Forward and backward separately.
struct AttentionFlops {
  double forward = 0.0;
  double backward = 0.0;
};

class AttentionVariant : public torch::nn::Module {
 public:
  ~AttentionVariant() override = default;
  // q_BHTD, k_BKTD, v_BKTD -> y_BHTD (before the output projection).
  virtual torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                const torch::Tensor& v_BKTD, const AttentionContext& ctx) = 0;
  // FLOPs for one sequence of length T with the dims the variant was created with.
  virtual AttentionFlops flops(int64_t T) const = 0;
  // Per-head gate activations of the last forward, [B, T, H], for reports; undefined if none.
  virtual torch::Tensor last_gate_BTH() const { return {}; }
};

}  // namespace attnlab
