// Native Sparse Attention (NSA; Yuan et al. 2025, "Native Sparse Attention: Hardware-Aligned and
// Natively Trainable Sparse Attention", arXiv 2502.11089): three causal branches over the same
// rotated q/k/v, mixed by per-head sigmoid gates of the layer input:
//   compressed: blocks of l = block_length keys every d = stride positions (block i covers
//     [i·d, i·d + l)) are compressed per kv head by a learned linear map of the concatenated
//     keys, c_i = W_k · concat_m(k_{i·d+m}), W_k [D, l·D], and of the position-embedded values,
//     c'_i = W_v · concat_m(v_{i·d+m} + pos_m). (A key position embedding would shift every
//     compressed key by the same W_k·pos, which the softmax cancels: it is left out.)
//     Query t attends (softmax, 1/√D) over the blocks that end at or before t; 0 when none does.
//   selected: the sequence is cut into selection blocks of l' = select_block tokens. Block j's
//     importance for query t is the sum of the compressed branch's probabilities over the heads
//     of the kv group and over the compressed blocks overlapping j (shared per kv head). Query t
//     keeps block 0, its own block and the most important others among those starting at or
//     before t, top_n blocks in all (ties to the later block), and attends over their tokens <= t.
//   window: causal attention where query t sees keys t-w..t (window.h's convention, w + 1 keys).
//   output: y = g_c·y_cmp + g_s·y_sel + g_w·y_win, [g_c, g_s, g_w] = σ(x W_gᵀ + b) [3, H].
// The selection has no gradient; gradients reach q, k, v, the compression and the gates.
// The selected branch is computed as a masked T×S softmax (O(T·S) time and memory): correct, not
// the paper's blockwise kernel. Full sequences only (S == T, position 0): no cached decoding.
//
// Shape legend: B batch, H query heads, K kv heads (query head h reads kv head h / (H / K)),
// G = H / K heads per kv head, T = S sequence length, D head dim, C d_model, N compressed blocks,
// J selection blocks, L block_length, F = L·D.
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "attnlab/kernels/flops.h"

namespace attnlab::kernels {

struct NsaParams {
  int64_t block_length = 16;  // l
  int64_t stride = 8;         // d, 1 <= d <= l
  int64_t select_block = 16;  // l'
  int64_t top_n = 4;          // selection blocks per query, >= 2 (block 0 and its own count)
  int64_t window = 64;        // w >= 0: query t sees keys t-w..t in the window branch
};

// The learned parts: the compression of keys and of values (weight_KDF [K, D, L·D] each, the
// values' position embedding position_KLD [K, L, D]) and the gates (gate_weight_GC [3H, C],
// gate_bias_G [3H]; rows 0..H-1 gate the compressed branch, H..2H-1 the selected one, 2H..3H-1 the
// window).
struct NsaWeights {
  torch::Tensor k_weight_KDF, v_weight_KDF, v_position_KLD;
  torch::Tensor gate_weight_GC, gate_bias_G;
};

struct NsaOutput {
  torch::Tensor y_BHTD;         // differentiable
  torch::Tensor gate_BT3H;      // the three gates [B, T, 3, H], detached
  torch::Tensor kept_fraction;  // kept (query, key) pairs of the selected branch / causal pairs
};

// Throws std::invalid_argument naming the field unless 1 <= stride <= block_length,
// select_block >= 1, top_n >= 2 and window >= 0.
void nsa_check_params(const NsaParams& params);

// Compressed blocks in a sequence of T: (T - l) / d + 1 when T >= l, else 0.
int64_t nsa_compressed_blocks(int64_t T, const NsaParams& params);

// q_BHTD [B, H, T, D], k_BKTD / v_BKTD [B, K, T, D], x_BTC [B, T, C] -> the gated sum of the
// three branches. The compression and the gates run in the weights' dtype, the attention in q's.
NsaOutput nsa_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const torch::Tensor& x_BTC,
                        const NsaWeights& weights, const NsaParams& params);

// One sequence of T (multiply-adds count 2, flops.h): the compression of keys and values
// (4·K·N·L·D² forward, 2× backward), attention over the (query, compressed block) pairs, the
// kept (query, key) pairs of the selected branch (data-independent: query t in block c = t/l'
// keeps min(top_n, c + 1) - 1 full blocks and its own up to t) and the window's pairs (4·D·H per
// pair forward, 2.5× backward), the gate projection 2·T·3H·C (backward 4·T·3H·C) and the three
// output scalings 3·T·H·D (backward 6·T·H·D). The importance sums and the top-n are not counted.
FlopCount nsa_flops(int64_t T, const NsaParams& params, int64_t n_head, int64_t n_kv_head,
                    int64_t head_dim, int64_t d_model);

}  // namespace attnlab::kernels
