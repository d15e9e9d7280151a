// RoPE: out = x * cos + rotate_half(x) * sin with inv_freq_i = theta^(-2i/D).
#include "attnlab/model/rope.h"

#include <torch/torch.h>

namespace attnlab::model {

RotaryEmbedding::RotaryEmbedding(int64_t head_dim, double theta)
    : head_dim_(head_dim), theta_(theta) {}

void RotaryEmbedding::ensure_cache(int64_t length, const torch::Device& device) {
  if (cos_TD_.defined() && cos_TD_.size(0) >= length && cos_TD_.device() == device) return;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  auto inv_freq = torch::pow(theta_, -torch::arange(0, head_dim_, 2, opts) / head_dim_);
  auto t = torch::arange(length, opts);
  auto freqs_TD2 = torch::outer(t, inv_freq);
  auto emb_TD = torch::cat({freqs_TD2, freqs_TD2}, -1);
  cos_TD_ = emb_TD.cos().to(torch::kFloat32);
  sin_TD_ = emb_TD.sin().to(torch::kFloat32);
}

torch::Tensor RotaryEmbedding::apply(const torch::Tensor& x_BHTD, int64_t position_offset) {
  const int64_t T = x_BHTD.size(2);
  ensure_cache(position_offset + T, x_BHTD.device());
  auto cos_TD = cos_TD_.narrow(0, position_offset, T).to(x_BHTD.scalar_type());
  auto sin_TD = sin_TD_.narrow(0, position_offset, T).to(x_BHTD.scalar_type());
  auto halves = x_BHTD.chunk(2, -1);
  auto rotated_BHTD = torch::cat({-halves[1], halves[0]}, -1);
  return x_BHTD * cos_TD + rotated_BHTD * sin_TD;
}

}  // namespace attnlab::model
