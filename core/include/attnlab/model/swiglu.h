// The SwiGLU feed-forward block: down(silu(gate(x)) * up(x)), no biases (Qwen3); optionally
// each linear under sigmaReparam (sigma_reparam.h: `gate_sigma`, `up_sigma`, `down_sigma`).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "attnlab/model/sigma_reparam.h"

namespace attnlab::model {

class SwiGLUImpl : public torch::nn::Module {
 public:
  SwiGLUImpl(int64_t d_model, int64_t hidden, bool sigma_reparam = false);
  torch::Tensor forward(const torch::Tensor& x_BTC);

  torch::nn::Linear gate{nullptr}, up{nullptr}, down{nullptr};
  SigmaReparam gate_sigma{nullptr}, up_sigma{nullptr}, down_sigma{nullptr};  // when enabled
};
TORCH_MODULE(SwiGLU);

}  // namespace attnlab::model
