// The AttentionVariant the seed plugins share: attnlab::kernels' blocked causal attention
// under a window rule (window.h), optionally with the per-head output gate
// g_BTH = sigmoid(x_BTC W_HC^T + b_H). Each plugin only declares its options and turns them
// into a KernelVariantConfig; the math lives in kernels/.
//
// Shape legend: B batch, H query heads, K kv heads, T sequence length, D head dim, C d_model.
#pragma once
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "attnlab/attention_variant.h"
#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/flops.h"
#include "attnlab/kernels/head_gate.h"
#include "attnlab/kernels/window.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::plugins {

struct KernelVariantConfig {
  std::string name;                 // the plugin's name, for error messages
  kernels::WindowParams window;     // kDenseWindow for dense attention
  bool gated = false;               // a per-head output gate with parameters gate_weight/gate_bias
  kernels::HeadGateInit gate_init;  // used when gated
};

class KernelVariant : public AttentionVariant {
 public:
  KernelVariant(const attnlab_layer_dims& dims, KernelVariantConfig config)
      : dims_(dims), config_(std::move(config)) {
    if (dims.n_head <= 0 || dims.n_kv_head <= 0 || dims.n_head % dims.n_kv_head != 0) {
      fail("n_head (" + std::to_string(dims.n_head) +
           ") must be a positive multiple of n_kv_head (" + std::to_string(dims.n_kv_head) + ")");
    }
    if (dims.head_dim <= 0) fail("head_dim must be > 0, got " + std::to_string(dims.head_dim));
    kernels::window_for_length(config_.window, 0);  // validates window and threshold
    if (config_.gated) {
      if (dims.d_model <= 0)
        fail("d_model must be > 0 for the gate, got " + std::to_string(dims.d_model));
      gate_weight_HC_ =
          register_parameter("gate_weight", torch::empty({dims.n_head, dims.d_model}));
      gate_bias_H_ = register_parameter("gate_bias", torch::empty({dims.n_head}));
      kernels::init_head_gate(gate_weight_HC_, gate_bias_H_, config_.gate_init);
    }
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const AttentionContext& ctx) override {
    if (ctx.position_offset != 0) {
      fail("decoding with a KV cache (position_offset " + std::to_string(ctx.position_offset) +
           ") is not supported; run full sequences");
    }
    if (q_BHTD.dim() != 4 || q_BHTD.size(1) != dims_.n_head || q_BHTD.size(3) != dims_.head_dim ||
        k_BKTD.dim() != 4 || k_BKTD.size(1) != dims_.n_kv_head) {
      fail("expected q [B, " + std::to_string(dims_.n_head) + ", T, " +
           std::to_string(dims_.head_dim) + "] and k/v [B, " + std::to_string(dims_.n_kv_head) +
           ", T, D] (the dims it was created with)");
    }
    kernels::AttentionParams params;
    params.window = kernels::window_for_length(config_.window, q_BHTD.size(2));
    if (!config_.gated) return kernels::causal_attention(q_BHTD, k_BKTD, v_BKTD, params);
    if (!ctx.x_BTC || !ctx.x_BTC->defined()) {
      fail("the gate needs the layer input: AttentionContext.x_BTC is not set");
    }
    const auto gate_BTH = kernels::head_gate(ctx.x_BTC->to(gate_weight_HC_.scalar_type()),
                                             gate_weight_HC_, gate_bias_H_);
    last_gate_BTH_ = gate_BTH.detach();
    return kernels::gated_causal_attention(q_BHTD, k_BKTD, v_BKTD,
                                           gate_BTH.to(q_BHTD.scalar_type()), params);
  }

  AttentionFlops flops(int64_t T) const override {
    const int64_t window = kernels::window_for_length(config_.window, T);
    auto count = kernels::attention_flops(T, window, dims_.n_head, dims_.head_dim);
    if (config_.gated) {
      const auto gate = kernels::head_gate_flops(T, dims_.d_model, dims_.n_head, dims_.head_dim);
      count.forward += gate.forward;
      count.backward += gate.backward;
    }
    return {count.forward, count.backward};
  }

  torch::Tensor last_gate_BTH() const override { return last_gate_BTH_; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("plugin " + config_.name + ": " + what);
  }

  attnlab_layer_dims dims_;
  KernelVariantConfig config_;
  torch::Tensor gate_weight_HC_, gate_bias_H_, last_gate_BTH_;
};

}  // namespace attnlab::plugins
