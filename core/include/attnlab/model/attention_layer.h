// One attention sub-layer of the decoder: q/k/v projections, per-head RMSNorm on q and k,
// RoPE, the pluggable attention variant, output projection. Under model.sigma_reparam each
// projection computes through its `<name>_sigma` (sigma_reparam.h). forward_cached decodes
// with a KV cache (kv_cache.h).
// Shapes: B batch, T tokens, C model width, H query heads, K kv heads, D head dim,
// S sampled query positions.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <memory>
#include <vector>

#include "attnlab/attention_variant.h"
#include "attnlab/model/kv_cache.h"
#include "attnlab/model/model_config.h"
#include "attnlab/model/rmsnorm.h"
#include "attnlab/model/rope.h"
#include "attnlab/model/sigma_reparam.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::model {

// Creates the attention variant of one layer (the model does not know about plugins).
using VariantFactory =
    std::function<std::shared_ptr<AttentionVariant>(const attnlab_layer_dims& dims)>;

class AttentionLayerImpl : public torch::nn::Module {
 public:
  AttentionLayerImpl(const ModelConfig& config, int64_t layer_index, const VariantFactory& make);
  torch::Tensor forward(const torch::Tensor& x_BTC);
  // Decoding: x_BTC holds T new positions starting at absolute position position_offset; their
  // keys and values are appended to `cache`, and the queries read the cached ones and their own
  // (the variant must support_decoding()). Equals forward() over the whole sequence at these
  // positions. No attention entropy is measured.
  torch::Tensor forward_cached(const torch::Tensor& x_BTC, LayerKVCache& cache,
                               int64_t position_offset);

  // Attention entropy (`attn/entropy`): while on, each forward also measures, under no_grad,
  // the mean entropy (nats) of softmax(q·kᵀ/√D) over the causal keys j <= i — the dense
  // distribution the variant's q, k (after QK-norm and RoPE) define, whatever the variant does
  // with them — at the query positions attention_entropy_positions(T), averaged over batch and
  // heads (query head h reads kv head h / (H/K)). Costs O(32·T·D·H·B); off: nothing computed.
  void set_measure_entropy(bool on) { measure_entropy_ = on; }
  // The last measured entropy: a detached fp32 scalar; undefined until a measured forward.
  const torch::Tensor& last_entropy() const { return last_entropy_; }

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  SigmaReparam q_proj_sigma{nullptr}, k_proj_sigma{nullptr}, v_proj_sigma{nullptr},
      o_proj_sigma{nullptr};  // registered only under model.sigma_reparam
  RMSNorm q_norm{nullptr}, k_norm{nullptr};
  std::shared_ptr<AttentionVariant> variant;

 private:
  struct Projected {
    torch::Tensor q_BHTD, k_BKTD, v_BKTD;  // after QK-norm and RoPE (v: projected only)
  };
  Projected project(const torch::Tensor& x_BTC, int64_t position_offset);
  // The variant over the queries and the S keys they read, then the output projection.
  torch::Tensor attend(const torch::Tensor& x_BTC, const torch::Tensor& q_BHTD,
                       const torch::Tensor& k_BKSD, const torch::Tensor& v_BKSD,
                       int64_t position_offset);

  int64_t n_head_, n_kv_head_, head_dim_, layer_index_;
  std::shared_ptr<RotaryEmbedding> rope_;
  bool measure_entropy_ = false;
  torch::Tensor last_entropy_;
};
TORCH_MODULE(AttentionLayer);

// The query positions the entropy is measured at: S = min(32, T) evenly spaced, always the
// last: ((n + 1)·T) / S - 1 for n = 0..S-1 (integer division; all of them when T <= 32).
std::vector<int64_t> attention_entropy_positions(int64_t T);
// Mean over B, H and the positions above of the causal softmax(q·kᵀ/√D) entropy; fp32 scalar.
torch::Tensor causal_attention_entropy(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD);

}  // namespace attnlab::model
