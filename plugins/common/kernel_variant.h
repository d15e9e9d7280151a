// The AttentionVariant the seed plugins share: attnlab::kernels' blocked causal attention
// under a window rule (window.h), optionally with the per-head output gate
// g_BTH = sigmoid(x_BTC W_HC^T + b_H). Each plugin only declares its options and turns them
// into a KernelVariantConfig; the math lives in kernels/.
// Decoding (S != T or position_offset != 0) runs kernels::cached_attention with the window
// the adaptive rule gives for the sequence so far (position_offset + T), so each step of a
// decode computes what a full forward over that prefix computes at its last positions.
//
// Shape legend: B batch, H query heads, K kv heads, T query positions, S key positions,
// D head dim, C d_model.
#pragma once
#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "attnlab/attention_variant.h"
#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/cached_attention.h"
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

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                        const torch::Tensor& v_BKSD, const AttentionContext& ctx) override {
    check_shapes(q_BHTD, k_BKSD, v_BKSD, ctx);
    const int64_t T = q_BHTD.size(2), S = k_BKSD.size(2);
    const int64_t window = kernels::window_for_length(config_.window, ctx.position_offset + T);
    record_kept_fraction(ctx.position_offset, T, window);
    const auto gate_BTH = config_.gated ? gate(ctx, q_BHTD.scalar_type()) : torch::Tensor();
    if (S != T || ctx.position_offset != 0) {
      kernels::CachedAttentionParams params;
      params.window = window;
      params.key_offset = ctx.position_offset + T - S;
      params.gate_BTH = gate_BTH;
      return kernels::cached_attention(q_BHTD, k_BKSD, v_BKSD, params);
    }
    kernels::AttentionParams params;
    params.window = window;
    if (!gate_BTH.defined()) return kernels::causal_attention(q_BHTD, k_BKSD, v_BKSD, params);
    return kernels::gated_causal_attention(q_BHTD, k_BKSD, v_BKSD, gate_BTH, params);
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

  bool supports_decoding() const override { return true; }

  // The window bounds the reach only when it applies at every length (adaptive_threshold 0):
  // under the adaptive rule a sequence of at most adaptive_threshold tokens is dense, so a
  // query may read every earlier key and the cache must keep them all.
  int64_t kv_reach() const override {
    const bool always_windowed = config_.window.adaptive_threshold == 0;
    return always_windowed && config_.window.window != kernels::kDenseWindow ? config_.window.window
                                                                             : kUnboundedReach;
  }

  std::vector<VariantStatistic> statistics() const override {
    std::vector<VariantStatistic> stats;
    if (kept_fraction_ < 0) return stats;
    stats.push_back({"kept_fraction", torch::tensor(kept_fraction_, torch::kDouble), 0.0, 1.0});
    if (last_gate_BTH_.defined()) stats.push_back({"mean_gate", last_gate_BTH_.mean(), 0.0, 1.0});
    return stats;
  }

  std::string parameter_group(const std::string& parameter_name) const override {
    return parameter_name == "gate_weight" || parameter_name == "gate_bias" ? "gate" : "";
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("plugin " + config_.name + ": " + what);
  }

  void check_shapes(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                    const torch::Tensor& v_BKSD, const AttentionContext& ctx) const {
    if (q_BHTD.dim() != 4 || q_BHTD.size(1) != dims_.n_head || q_BHTD.size(3) != dims_.head_dim ||
        k_BKSD.dim() != 4 || k_BKSD.size(1) != dims_.n_kv_head) {
      fail("expected q [B, " + std::to_string(dims_.n_head) + ", T, " +
           std::to_string(dims_.head_dim) + "] and k/v [B, " + std::to_string(dims_.n_kv_head) +
           ", S, D] (the dims it was created with)");
    }
    if (ctx.position_offset < 0 || ctx.position_offset + q_BHTD.size(2) < k_BKSD.size(2)) {
      fail("position_offset (" + std::to_string(ctx.position_offset) + ") + T (" +
           std::to_string(q_BHTD.size(2)) + ") must be >= S (" + std::to_string(k_BKSD.size(2)) +
           "): key 0 would sit before position 0");
    }
  }

  torch::Tensor gate(const AttentionContext& ctx, torch::ScalarType dtype) {
    if (!ctx.x_BTC || !ctx.x_BTC->defined()) {
      fail("the gate needs the layer input: AttentionContext.x_BTC is not set");
    }
    const auto gate_BTH = kernels::head_gate(ctx.x_BTC->to(gate_weight_HC_.scalar_type()),
                                             gate_weight_HC_, gate_bias_H_);
    last_gate_BTH_ = gate_BTH.detach();
    return gate_BTH.to(dtype);
  }

  // The kept fraction of the (query, key) pairs of the rows this forward computed: the queries
  // at positions offset..offset+T-1 under `window` against dense causal attention.
  void record_kept_fraction(int64_t offset, int64_t T, int64_t window) {
    const auto rows = [&](int64_t w) {
      return kernels::visible_pairs(offset + T, w) - kernels::visible_pairs(offset, w);
    };
    kept_fraction_ = T > 0 ? rows(window) / rows(kernels::kDenseWindow) : 1.0;
  }

  attnlab_layer_dims dims_;
  KernelVariantConfig config_;
  torch::Tensor gate_weight_HC_, gate_bias_H_, last_gate_BTH_;
  double kept_fraction_ = -1.0;  // < 0 before the first forward
};

}  // namespace attnlab::plugins
