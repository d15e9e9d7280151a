// RMSNorm over the last dimension with a learnable scale (Qwen3 uses it before each block,
// at the end, and on q and k per head).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace attnlab::model {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace attnlab::model
