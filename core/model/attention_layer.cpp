// Attention sub-layer: projections, QK-norm, RoPE, then the variant computes y_BHTD; optionally
// the attention entropy of the q, k it was given.
#include "attnlab/model/attention_layer.h"

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace attnlab::model {

namespace {
constexpr int64_t kEntropyQueries = 32;
}  // namespace

AttentionLayerImpl::AttentionLayerImpl(const ModelConfig& c, int64_t layer_index,
                                       const VariantFactory& make)
    : n_head_(c.n_head), n_kv_head_(c.n_kv_head), head_dim_(c.head_dim),
      layer_index_(layer_index),
      rope_(std::make_shared<RotaryEmbedding>(c.head_dim, c.rope_theta)) {
  const int64_t C = c.d_model, HD = c.n_head * c.head_dim, KD = c.n_kv_head * c.head_dim;
  const bool sr = c.sigma_reparam;
  q_proj = register_block_linear(*this, "q_proj", C, HD, sr, q_proj_sigma);
  k_proj = register_block_linear(*this, "k_proj", C, KD, sr, k_proj_sigma);
  v_proj = register_block_linear(*this, "v_proj", C, KD, sr, v_proj_sigma);
  o_proj = register_block_linear(*this, "o_proj", HD, C, sr, o_proj_sigma);
  q_norm = register_module("q_norm", RMSNorm(c.head_dim, c.norm_eps));
  k_norm = register_module("k_norm", RMSNorm(c.head_dim, c.norm_eps));
  attnlab_layer_dims dims{c.d_model, c.n_head, c.n_kv_head, c.head_dim, c.n_layer, layer_index};
  variant = register_module("variant", make(dims));
}

AttentionLayerImpl::Projected AttentionLayerImpl::project(const torch::Tensor& x_BTC,
                                                          int64_t position_offset) {
  const int64_t B = x_BTC.size(0), T = x_BTC.size(1);
  auto heads = [&](const torch::Tensor& t_BTX, int64_t n) {
    return t_BTX.view({B, T, n, head_dim_}).transpose(1, 2);  // -> [B, n, T, D]
  };
  auto q_BHTD = rope_->apply(q_norm(heads(sigma_linear(q_proj, q_proj_sigma, x_BTC), n_head_)),
                             position_offset);
  auto k_BKTD = rope_->apply(
      k_norm(heads(sigma_linear(k_proj, k_proj_sigma, x_BTC), n_kv_head_)), position_offset);
  auto v_BKTD = heads(sigma_linear(v_proj, v_proj_sigma, x_BTC), n_kv_head_);
  return {q_BHTD, k_BKTD, v_BKTD};
}

torch::Tensor AttentionLayerImpl::attend(const torch::Tensor& x_BTC, const torch::Tensor& q_BHTD,
                                         const torch::Tensor& k_BKSD, const torch::Tensor& v_BKSD,
                                         int64_t position_offset) {
  const int64_t B = x_BTC.size(0), T = x_BTC.size(1);
  AttentionContext ctx;
  ctx.x_BTC = &x_BTC;
  ctx.layer_index = layer_index_;
  ctx.position_offset = position_offset;
  auto y_BHTD = variant->forward(q_BHTD, k_BKSD, v_BKSD, ctx);
  auto y_BTC = y_BHTD.transpose(1, 2).reshape({B, T, n_head_ * head_dim_});
  return sigma_linear(o_proj, o_proj_sigma, y_BTC);
}

torch::Tensor AttentionLayerImpl::forward(const torch::Tensor& x_BTC) {
  const auto p = project(x_BTC, 0);
  if (measure_entropy_) last_entropy_ = causal_attention_entropy(p.q_BHTD, p.k_BKTD);
  return attend(x_BTC, p.q_BHTD, p.k_BKTD, p.v_BKTD, 0);
}

torch::Tensor AttentionLayerImpl::forward_cached(const torch::Tensor& x_BTC, LayerKVCache& cache,
                                                 int64_t position_offset) {
  const auto p = project(x_BTC, position_offset);
  const auto [k_BKSD, v_BKSD] = cache.append(p.k_BKTD, p.v_BKTD);
  return attend(x_BTC, p.q_BHTD, k_BKSD, v_BKSD, position_offset);
}

std::vector<int64_t> attention_entropy_positions(int64_t T) {
  const int64_t S = std::min(kEntropyQueries, T);
  std::vector<int64_t> positions(S);
  for (int64_t n = 0; n < S; ++n) positions[n] = (n + 1) * T / S - 1;
  return positions;
}

torch::Tensor causal_attention_entropy(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD) {
  torch::NoGradGuard no_grad;
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKTD.size(1);
  const auto dtype = q_BHTD.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  const auto device = q_BHTD.device();
  const auto pos_S = torch::tensor(attention_entropy_positions(T)).to(device);
  const int64_t S = pos_S.size(0);
  // query head h = kv head * (H/K) + g, so a [B, K, H/K, S, D] view pairs each with its kv head
  const auto q_BKGSD = q_BHTD.index_select(2, pos_S).to(dtype).reshape({B, K, H / K, S, D});
  const auto k_BK1DT = k_BKTD.to(dtype).transpose(-2, -1).unsqueeze(2);
  const auto s_BKGST = torch::matmul(q_BKGSD, k_BK1DT) / std::sqrt(static_cast<double>(D));
  const auto future_ST =
      torch::arange(T, torch::TensorOptions().device(device)).unsqueeze(0) > pos_S.unsqueeze(1);
  const auto logp_BKGST = torch::log_softmax(s_BKGST.masked_fill(future_ST, -INFINITY), -1);
  const auto entropy_BKGS = -(logp_BKGST.exp() * logp_BKGST.masked_fill(future_ST, 0.0)).sum(-1);
  return entropy_BKGS.mean().to(torch::kFloat32);
}

}  // namespace attnlab::model
