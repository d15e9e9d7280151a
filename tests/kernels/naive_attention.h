// The test's own reference: masked-softmax attention materialising the full T×T score
// matrix in the input dtype (use fp64), written without the kernels' helpers.
#pragma once
#include <torch/torch.h>

#include <cmath>

namespace attnlab::test {

// Visibility mask [T, T] built element by element: j <= i, and i - j <= w when w >= 0.
inline torch::Tensor naive_mask(int64_t T, int64_t w) {
  auto mask = torch::zeros({T, T}, torch::kBool);
  auto m = mask.accessor<bool, 2>();
  for (int64_t i = 0; i < T; ++i) {
    for (int64_t j = 0; j <= i; ++j) m[i][j] = (w < 0) || (i - j <= w);
  }
  return mask;
}

// Masked scaled scores q·kᵀ·scale [B, H, T, T] (-inf where hidden), k repeated per group;
// scale 0 means 1/sqrt(D).
inline torch::Tensor naive_scores(const torch::Tensor& q, const torch::Tensor& k, int64_t w,
                                  double scale = 0.0) {
  const int64_t group = q.size(1) / k.size(1), T = q.size(2);
  auto s = torch::matmul(q, k.repeat_interleave(group, 1).transpose(-2, -1));
  s = scale == 0.0 ? s / std::sqrt(static_cast<double>(q.size(3))) : s * scale;
  return s.masked_fill(naive_mask(T, w).logical_not().to(s.device()), -INFINITY);
}

// q_BHTD, k_BKTD, v_BKTD -> y_BHTD; gate_BTH (optional) scales head h of token t.
inline torch::Tensor naive_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, int64_t w,
                                     const torch::Tensor& gate_BTH = {}, double scale = 0.0) {
  const auto v_full = v.repeat_interleave(q.size(1) / k.size(1), 1);
  auto y = torch::matmul(torch::softmax(naive_scores(q, k, w, scale), -1), v_full);
  if (gate_BTH.defined()) y = y * gate_BTH.permute({0, 2, 1}).unsqueeze(-1);
  return y;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace attnlab::test
