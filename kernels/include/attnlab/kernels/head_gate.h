// The per-head output gate of gated attention: g_BTH = sigmoid(x_BTC · W_HC^T + b_H), one
// scalar per token and head that scales that head's attention output (see
// gated_causal_attention). Plain differentiable ATen ops; the scaling itself is fused into
// the attention kernel.
#pragma once
#include <torch/types.h>

namespace attnlab::kernels {

// x_BTC [B, T, C], weight_HC [H, C], bias_H [H] -> g_BTH [B, T, H] in (0, 1).
torch::Tensor head_gate(const torch::Tensor& x_BTC, const torch::Tensor& weight_HC,
                        const torch::Tensor& bias_H);

// How a gate's parameters start: weight ~ N(0, weight_std²) (0 gives zeros), bias = bias.
// With the defaults g starts near sigmoid(0) = 0.5 for every head.
struct HeadGateInit {
  double weight_std = 0.02;
  double bias = 0.0;
};

// Fills weight_HC and bias_H in place (without recording autograd history).
void init_head_gate(torch::Tensor& weight_HC, torch::Tensor& bias_H, const HeadGateInit& init);

}  // namespace attnlab::kernels
