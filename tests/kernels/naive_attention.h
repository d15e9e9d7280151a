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

// q_BHTD, k_BKTD, v_BKTD -> y_BHTD; gate_BTH (optional) scales head h of token t.
inline torch::Tensor naive_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, int64_t w,
                                     const torch::Tensor& gate_BTH = {}) {
  const int64_t group = q.size(1) / k.size(1), T = q.size(2);
  const auto k_full = k.repeat_interleave(group, 1), v_full = v.repeat_interleave(group, 1);
  auto s = torch::matmul(q, k_full.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(3)));
  s = s.masked_fill(naive_mask(T, w).logical_not().to(s.device()), -INFINITY);
  auto y = torch::matmul(torch::softmax(s, -1), v_full);
  if (gate_BTH.defined()) y = y * gate_BTH.permute({0, 2, 1}).unsqueeze(-1);
  return y;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace attnlab::test
