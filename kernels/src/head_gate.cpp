// The per-head output gate (see head_gate.h).
#include "attnlab/kernels/head_gate.h"

#include <torch/torch.h>

#include <stdexcept>
#include <string>

namespace attnlab::kernels {

torch::Tensor head_gate(const torch::Tensor& x_BTC, const torch::Tensor& weight_HC,
                        const torch::Tensor& bias_H) {
  if (x_BTC.dim() != 3) {
    throw std::invalid_argument("head_gate: x_BTC must be [B, T, C], got " +
                                std::to_string(x_BTC.dim()) + " dims");
  }
  if (weight_HC.dim() != 2 || weight_HC.size(1) != x_BTC.size(2)) {
    throw std::invalid_argument("head_gate: weight_HC must be [H, C] with C = " +
                                std::to_string(x_BTC.size(2)) + " (the width of x_BTC)");
  }
  if (bias_H.dim() != 1 || bias_H.size(0) != weight_HC.size(0)) {
    throw std::invalid_argument("head_gate: bias_H must be [H] with H = " +
                                std::to_string(weight_HC.size(0)));
  }
  return torch::sigmoid(torch::nn::functional::linear(x_BTC, weight_HC, bias_H));
}

void init_head_gate(torch::Tensor& weight_HC, torch::Tensor& bias_H, const HeadGateInit& init) {
  if (init.weight_std < 0) {
    throw std::invalid_argument("head gate weight_std must be >= 0, got " +
                                std::to_string(init.weight_std));
  }
  torch::NoGradGuard no_grad;
  if (init.weight_std == 0) {
    weight_HC.zero_();
  } else {
    weight_HC.normal_(0.0, init.weight_std);
  }
  bias_H.fill_(init.bias);
}

}  // namespace attnlab::kernels
