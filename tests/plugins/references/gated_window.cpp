// Conformance reference of plugin `gated_window`: the adaptive window of no_gating (keys
// i-window..i when T > adaptive_threshold) with head h of token t scaled by
// g_BTH = sigmoid(x_BTC W_HCᵀ + b_H).
#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

ReferenceOutput gated_window(const ReferenceInput& in) {
  return head_gated_attention(in, adaptive_window(in.options, in.q_BHTD.size(2)));
}

}  // namespace

// A gate weight of std 0.5 makes the output depend on x well above finite-difference noise.
ATTNLAB_PLUGIN_REFERENCE("gated_window",
                         PluginReference{gated_window,
                                         {{"gate_weight_init_std", 0.5}},
                                         {{"window", 5}, {"adaptive_threshold", 16}}});

}  // namespace attnlab::test
