// SwiGLU feed-forward block.
#include "attnlab/model/swiglu.h"

#include <torch/torch.h>

namespace attnlab::model {

SwiGLUImpl::SwiGLUImpl(int64_t d_model, int64_t hidden) {
  auto linear = [](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  gate = register_module("gate", linear(d_model, hidden));
  up = register_module("up", linear(d_model, hidden));
  down = register_module("down", linear(hidden, d_model));
}

torch::Tensor SwiGLUImpl::forward(const torch::Tensor& x_BTC) {
  return down(torch::silu(gate(x_BTC)) * up(x_BTC));
}

}  // namespace attnlab::model
