// Conformance reference of plugin `gated_dense`: dense causal attention with head h of token t
// scaled by g_BTH = sigmoid(x_BTC W_HCᵀ + b_H).
#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

ReferenceOutput gated_dense(const ReferenceInput& in) { return head_gated_attention(in, -1); }

}  // namespace

// A gate weight of std 0.5 makes the output depend on x well above finite-difference noise.
ATTNLAB_PLUGIN_REFERENCE("gated_dense",
                         PluginReference{gated_dense, {{"gate_weight_init_std", 0.5}}});

}  // namespace attnlab::test
