// The conformance suite's independent answers: for each plugin name, a naive fp64 reference
// written in the test tree from the plugin's formula (its README), never from its code. Each
// references/<name>.cpp registers one with ATTNLAB_PLUGIN_REFERENCE; a plugin found in
// build/plugins without a reference fails the suite.
//
// Shape legend: B batch, H query heads, K kv heads, T sequence length, D head dim, C d_model.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "attnlab/attention_variant.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::test {

struct ReferenceInput {
  torch::Tensor q_BHTD, k_BKTD, v_BKTD, x_BTC;  // fp64, full sequences (S == T)
  const AttentionVariant* variant = nullptr;    // its parameters (fp64), read by name
  nlohmann::json options;                       // completed options
  attnlab_layer_dims dims{};
};

// The FLOPs of one sequence, counted from the formula under the plugins' convention
// (kernels/include/attnlab/kernels/flops.h, docs/KERNELS.md "FLOPs"): a multiply-add is 2;
// softmax, masking, biases and activations are not counted; what a plugin's README adds (the
// output scaling, DMA's Δ projection, pooling) is counted as it says. flops(T) must equal it.
struct ReferenceFlops {
  double forward = 0.0;
  double backward = 0.0;
  ReferenceFlops& operator+=(const ReferenceFlops& other);
};

struct ReferenceOutput {
  torch::Tensor y_BHTD;
  ReferenceFlops flops;
};

struct PluginReference {
  std::function<ReferenceOutput(const ReferenceInput&)> compute;
  // Options merged over the defaults for the checks that need a smooth function of the inputs
  // (the finite-difference gradient check), e.g. a soft gate instead of a straight-through one.
  nlohmann::json smooth_options = nlohmann::json::object();
  // Options that make the plugin's structure visible at small T (a window of 5, a few kept
  // keys), used by the reference, causality and decoding checks next to the defaults.
  nlohmann::json small_options = nlohmann::json::object();
};

// The reference registered for `plugin`, or nullptr.
const PluginReference* find_reference(const std::string& plugin);

struct ReferenceRegistrar {
  ReferenceRegistrar(const std::string& plugin, PluginReference reference);
};

// A parameter of the variant by name (as in named_parameters()), fp64; fails the test when absent.
torch::Tensor parameter(const AttentionVariant& variant, const std::string& name);

// Helpers for references written from a formula with plain ATen (tests/kernels/naive_attention.h).

// The paper's adaptive rule read from the options `window` and `adaptive_threshold`: the window
// when T > adaptive_threshold, -1 (dense causal) otherwise.
int64_t adaptive_window(const nlohmann::json& options, int64_t T);

// Causal softmax attention where query i sees keys i-window..i (every j <= i for window -1),
// head outputs scaled by gate_BTH when defined. Its flops count the attention only
// (attention_flops), not the gate: the caller adds what computes gate_BTH (gate_flops).
ReferenceOutput windowed_attention(const ReferenceInput& in, int64_t window,
                                   const torch::Tensor& gate_BTH = {});

// Counters written as loops over the work they count, independent of the kernels' formulas.

// Attention of H query heads over a sequence of T, head dim D, for the causal pairs (query i,
// key j <= i) where sees(h, i, j), pair by pair: forward q·k and p·v (2·D each); backward
// recomputes q·k and computes pᵀ·do, do·vᵀ, ds·k and dsᵀ·q (5 · 2·D).
ReferenceFlops attention_flops(int64_t H, int64_t T, int64_t D,
                               const std::function<bool(int64_t h, int64_t i, int64_t j)>& sees);

// `outputs` dot products of length `inputs` per token, T tokens (x·Wᵀ without the bias):
// each multiply-add is 2 forward, 4 backward (one for the input's gradient, one for W's).
ReferenceFlops projection_flops(int64_t T, int64_t outputs, int64_t inputs);

// An output gate of one sequence: `gates` projections of `inputs` per token (projection_flops),
// then each of the H·D output channels multiplied by its gate: 1 forward, 2 backward (dy·g for
// the output's gradient, dy·o for the gate's).
ReferenceFlops gate_flops(int64_t T, int64_t gates, int64_t inputs, int64_t H, int64_t D);

// windowed_attention scaled by the per-head output gate g_BTH = sigmoid(x_BTC W_HCᵀ + b_H) from
// the parameters gate_weight [H, C] and gate_bias [H], its flops the gate's included.
ReferenceOutput head_gated_attention(const ReferenceInput& in, int64_t window);

}  // namespace attnlab::test

#define ATTNLAB_REFERENCE_CAT2(a, b) a##b
#define ATTNLAB_REFERENCE_CAT(a, b) ATTNLAB_REFERENCE_CAT2(a, b)
// ATTNLAB_PLUGIN_REFERENCE("dma", PluginReference{...});
#define ATTNLAB_PLUGIN_REFERENCE(name, ...)                                                      \
  static const ::attnlab::test::ReferenceRegistrar ATTNLAB_REFERENCE_CAT(kReference_, __LINE__)( \
      name, __VA_ARGS__)
