// Causal attention from a key cache, with a window, attention sinks and a per-head gate: the
// decoding path of the plugins (queries are the last T of S cached positions) and, blocked by
// query, the training path of sink_window (S == T). Plain differentiable ATen ops: each block
// of queries reads only the sink keys and the keys of its window span, so a window w with s
// sinks costs O(T·(w + s + block)) time and memory, never a T×S mask.
//
// Shape legend: B batch, H query heads, K key/value heads (H % K == 0; query head h reads kv
// head h / (H / K)), T query positions, S key positions (S >= T), D head dim.
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "attnlab/kernels/window.h"

namespace attnlab::kernels {

struct CachedAttentionParams {
  int64_t window = kDenseWindow;  // window.h's convention on absolute positions
  int64_t n_sink = 0;             // absolute positions 0..n_sink-1 are visible to every query
  int64_t key_offset = 0;         // absolute position of key 0 (> 0 for a rolling cache)
  int64_t block_size = 64;        // queries per block
  double scale = 0.0;             // softmax scale; 0 means 1/sqrt(D)
  torch::Tensor gate_BTH;         // [B, T, H] scaling each head's output, or undefined
};

// Query i sits at absolute position p_i = key_offset + S - T + i, key j at key_offset + j.
// Key j is visible to query i iff j's position p satisfies p <= p_i and (p_i - w <= p or
// p < n_sink). y_BHTD[b,h,i] = sum_j softmax_j(q_i·k_j·scale over visible j) v_j, times
// gate_BTH[b,i,h] when a gate is given. Half/bfloat16 are computed in float32.
// Throws std::invalid_argument naming the offending argument.
torch::Tensor cached_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                               const torch::Tensor& v_BKSD, const CachedAttentionParams& params);

// Visible (query, key) pairs of the queries at absolute positions first..end-1 (keys from 0)
// under window w (or kDenseWindow) with n_sink sinks: the window's pairs plus, per query, the
// sinks before its window.
double sink_window_pairs(int64_t first, int64_t end, int64_t w, int64_t n_sink);

}  // namespace attnlab::kernels
