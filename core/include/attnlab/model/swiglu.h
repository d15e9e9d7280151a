// The SwiGLU feed-forward block: down(silu(gate(x)) * up(x)), no biases (Qwen3).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace attnlab::model {

class SwiGLUImpl : public torch::nn::Module {
 public:
  SwiGLUImpl(int64_t d_model, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x_BTC);

  torch::nn::Linear gate{nullptr}, up{nullptr}, down{nullptr};
};
TORCH_MODULE(SwiGLU);

}  // namespace attnlab::model
