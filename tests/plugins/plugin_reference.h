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

struct ReferenceOutput {
  torch::Tensor y_BHTD;
  // The (query, key) score pairs the formula computes for one sequence, summed over query
  // heads: 4·D·pairs is the attention's forward FLOPs the plugin must count at least.
  double score_pairs = 0.0;
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
// head outputs scaled by gate_BTH when defined; score_pairs = visible pairs · H.
ReferenceOutput windowed_attention(const ReferenceInput& in, int64_t window,
                                   const torch::Tensor& gate_BTH = {});

// The per-head output gate g_BTH = sigmoid(x_BTC W_HCᵀ + b_H) from the parameters
// gate_weight [H, C] and gate_bias [H].
torch::Tensor head_gate(const ReferenceInput& in);

}  // namespace attnlab::test

#define ATTNLAB_REFERENCE_CAT2(a, b) a##b
#define ATTNLAB_REFERENCE_CAT(a, b) ATTNLAB_REFERENCE_CAT2(a, b)
// ATTNLAB_PLUGIN_REFERENCE("dma", PluginReference{...});
#define ATTNLAB_PLUGIN_REFERENCE(name, ...)                                                      \
  static const ::attnlab::test::ReferenceRegistrar ATTNLAB_REFERENCE_CAT(kReference_, __LINE__)( \
      name, __VA_ARGS__)
