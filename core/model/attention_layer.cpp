// Attention sub-layer: projections, QK-norm, RoPE, then the variant computes y_BHTD.
#include "attnlab/model/attention_layer.h"

#include <torch/torch.h>

namespace attnlab::model {

AttentionLayerImpl::AttentionLayerImpl(const ModelConfig& c, int64_t layer_index,
                                       const VariantFactory& make)
    : n_head_(c.n_head), n_kv_head_(c.n_kv_head), head_dim_(c.head_dim),
      layer_index_(layer_index),
      rope_(std::make_shared<RotaryEmbedding>(c.head_dim, c.rope_theta)) {
  auto linear = [](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  q_proj = register_module("q_proj", linear(c.d_model, c.n_head * c.head_dim));
  k_proj = register_module("k_proj", linear(c.d_model, c.n_kv_head * c.head_dim));
  v_proj = register_module("v_proj", linear(c.d_model, c.n_kv_head * c.head_dim));
  o_proj = register_module("o_proj", linear(c.n_head * c.head_dim, c.d_model));
  q_norm = register_module("q_norm", RMSNorm(c.head_dim, c.norm_eps));
  k_norm = register_module("k_norm", RMSNorm(c.head_dim, c.norm_eps));
  attnlab_layer_dims dims{c.d_model, c.n_head, c.n_kv_head, c.head_dim, c.n_layer, layer_index};
  variant = register_module("variant", make(dims));
}

torch::Tensor AttentionLayerImpl::forward(const torch::Tensor& x_BTC) {
  const int64_t B = x_BTC.size(0), T = x_BTC.size(1);
  auto heads = [&](const torch::Tensor& t_BTX, int64_t n) {
    return t_BTX.view({B, T, n, head_dim_}).transpose(1, 2);  // -> [B, n, T, D]
  };
  auto q_BHTD = rope_->apply(q_norm(heads(q_proj(x_BTC), n_head_)));
  auto k_BKTD = rope_->apply(k_norm(heads(k_proj(x_BTC), n_kv_head_)));
  auto v_BKTD = heads(v_proj(x_BTC), n_kv_head_);
  AttentionContext ctx;
  ctx.x_BTC = &x_BTC;
  ctx.layer_index = layer_index_;
  auto y_BHTD = variant->forward(q_BHTD, k_BKTD, v_BKTD, ctx);
  auto y_BTC = y_BHTD.transpose(1, 2).reshape({B, T, n_head_ * head_dim_});
  return o_proj(y_BTC);
}

}  // namespace attnlab::model
