// One attention sub-layer of the decoder: q/k/v projections, per-head RMSNorm on q and k,
// RoPE, the pluggable attention variant, output projection.
// Shapes: B batch, T tokens, C model width, H query heads, K kv heads, D head dim.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <memory>

#include "attnlab/attention_variant.h"
#include "attnlab/model/model_config.h"
#include "attnlab/model/rmsnorm.h"
#include "attnlab/model/rope.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::model {

// Creates the attention variant of one layer (the model does not know about plugins).
using VariantFactory =
    std::function<std::shared_ptr<AttentionVariant>(const attnlab_layer_dims& dims)>;

class AttentionLayerImpl : public torch::nn::Module {
 public:
  AttentionLayerImpl(const ModelConfig& config, int64_t layer_index, const VariantFactory& make);
  torch::Tensor forward(const torch::Tensor& x_BTC);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};
  std::shared_ptr<AttentionVariant> variant;

 private:
  int64_t n_head_, n_kv_head_, head_dim_, layer_index_;
  std::shared_ptr<RotaryEmbedding> rope_;
};
TORCH_MODULE(AttentionLayer);

}  // namespace attnlab::model
