// SwiGLU feed-forward block.
#include "attnlab/model/swiglu.h"

#include <torch/torch.h>

namespace attnlab::model {

SwiGLUImpl::SwiGLUImpl(int64_t d_model, int64_t hidden, bool sigma_reparam) {
  gate = register_block_linear(*this, "gate", d_model, hidden, sigma_reparam, gate_sigma);
  up = register_block_linear(*this, "up", d_model, hidden, sigma_reparam, up_sigma);
  down = register_block_linear(*this, "down", hidden, d_model, sigma_reparam, down_sigma);
}

torch::Tensor SwiGLUImpl::forward(const torch::Tensor& x_BTC) {
  const auto h_BTF =
      torch::silu(sigma_linear(gate, gate_sigma, x_BTC)) * sigma_linear(up, up_sigma, x_BTC);
  return sigma_linear(down, down_sigma, h_BTF);
}

}  // namespace attnlab::model
