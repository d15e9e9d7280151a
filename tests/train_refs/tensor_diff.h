// The one tensor comparison the train_refs tests share.
#pragma once
#include <torch/torch.h>

namespace attnlab::test {

// max |a - b| over all elements, computed in fp64.
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace attnlab::test
