// cached_attention (cached_attention.h): blocks of queries, each attending to the sink keys
// before its window span and to the span itself, with a visibility mask built from positions.
#include "attnlab/kernels/cached_attention.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnlab::kernels {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("attnlab::kernels::cached_attention: " + what);
}

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

void check_params(const CachedAttentionParams& p) {
  if (p.window < 0 && p.window != kDenseWindow)
    fail("window must be >= 0 or kDenseWindow, got " + std::to_string(p.window));
  if (p.n_sink < 0) fail("n_sink must be >= 0, got " + std::to_string(p.n_sink));
  if (p.key_offset < 0) fail("key_offset must be >= 0, got " + std::to_string(p.key_offset));
  if (p.block_size <= 0) fail("block_size must be > 0, got " + std::to_string(p.block_size));
  if (!(p.scale >= 0.0)) fail("scale must be >= 0 (0: 1/sqrt(D)), got " + std::to_string(p.scale));
}

void check_inputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                  const torch::Tensor& gate) {
  if (!q.defined() || !k.defined() || !v.defined()) fail("q, k and v must be defined tensors");
  if (q.dim() != 4 || k.dim() != 4) {
    fail("q_BHTD and k_BKSD must have 4 dims, got " + shape_str(q) + " and " + shape_str(k));
  }
  if (!k.sizes().equals(v.sizes()))
    fail("k_BKSD " + shape_str(k) + " and v_BKSD " + shape_str(v) + " must have the same shape");
  if (!q.is_floating_point() || k.scalar_type() != q.scalar_type() ||
      v.scalar_type() != q.scalar_type()) {
    fail("q, k and v must have the same floating dtype");
  }
  if (k.device() != q.device() || v.device() != q.device())
    fail("q, k and v must be on the same device");
  if (k.size(0) != q.size(0) || k.size(3) != q.size(3))
    fail("k_BKSD " + shape_str(k) + " must match q_BHTD " + shape_str(q) + " in B and D");
  if (k.size(1) == 0 || q.size(1) % k.size(1) != 0) {
    fail("query heads (" + std::to_string(q.size(1)) + ") must be a multiple of kv heads (" +
         std::to_string(k.size(1)) + ")");
  }
  if (k.size(2) < q.size(2)) {
    fail("the queries are the last T of S keys, so S (" + std::to_string(k.size(2)) +
         ") must be >= T (" + std::to_string(q.size(2)) + ")");
  }
  if (gate.defined() && (gate.dim() != 3 || gate.size(0) != q.size(0) ||
                         gate.size(1) != q.size(2) || gate.size(2) != q.size(1))) {
    fail("gate_BTH must be [B, T, H] = [" + std::to_string(q.size(0)) + ", " +
         std::to_string(q.size(2)) + ", " + std::to_string(q.size(1)) + "], got " +
         shape_str(gate));
  }
}

// Which keys one block of queries reads, in key-index coordinates (key j at key_offset + j).
struct BlockKeys {
  int64_t n_sink_keys;  // keys 0..n_sink_keys-1: the sinks before the span
  int64_t lo, hi;       // the span lo..hi-1
};

// Queries t0..t1-1 (key indices r = S - T + t): the causal/window span and the sinks before it.
BlockKeys block_keys(int64_t S, int64_t T, int64_t t0, int64_t t1, int64_t sink_keys,
                     int64_t window) {
  const int64_t r0 = S - T + t0;
  const int64_t lo = window == kDenseWindow ? 0 : std::max<int64_t>(0, r0 - window);
  return {std::min(sink_keys, lo), lo, S - T + t1};
}

// [t, n] visibility of the block's keys to its queries (key indices r0.. of the queries).
torch::Tensor block_mask(const BlockKeys& keys, int64_t r0, int64_t t, int64_t sink_keys,
                         int64_t window, const torch::Device& device) {
  const auto o = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto j_n =
      torch::cat({torch::arange(keys.n_sink_keys, o), torch::arange(keys.lo, keys.hi, o)});
  const auto r_t1 = torch::arange(r0, r0 + t, o).unsqueeze(1);
  auto visible = j_n.unsqueeze(0) <= r_t1;
  if (window != kDenseWindow) visible &= (j_n.unsqueeze(0) >= r_t1 - window) | (j_n < sink_keys);
  return visible;
}

// Attention of one block of queries q_BKGtD to its selected keys k_BKnD/v_BKnD under mask_tn.
torch::Tensor attend(const torch::Tensor& q_BKGtD, const torch::Tensor& k_BKnD,
                     const torch::Tensor& v_BKnD, const torch::Tensor& mask_tn, double scale) {
  auto s_BKGtn = torch::matmul(q_BKGtD, k_BKnD.unsqueeze(2).transpose(-2, -1)) * scale;
  s_BKGtn = s_BKGtn.masked_fill(mask_tn.logical_not(), -INFINITY);
  return torch::matmul(torch::softmax(s_BKGtn, -1), v_BKnD.unsqueeze(2));
}

torch::Tensor select_keys(const torch::Tensor& k_BKSD, const BlockKeys& keys) {
  const auto span = k_BKSD.narrow(2, keys.lo, keys.hi - keys.lo);
  return keys.n_sink_keys == 0 ? span
                               : torch::cat({k_BKSD.narrow(2, 0, keys.n_sink_keys), span}, 2);
}

}  // namespace

torch::Tensor cached_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                               const torch::Tensor& v_BKSD, const CachedAttentionParams& params) {
  check_params(params);
  check_inputs(q_BHTD, k_BKSD, v_BKSD, params.gate_BTH);
  const auto dtype = q_BHTD.scalar_type();
  const auto compute = (dtype == torch::kHalf || dtype == torch::kBFloat16) ? torch::kFloat : dtype;
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKSD.size(1), S = k_BKSD.size(2);
  const double scale = params.scale > 0 ? params.scale : 1.0 / std::sqrt(static_cast<double>(D));
  const int64_t sink_keys = std::clamp<int64_t>(params.n_sink - params.key_offset, 0, S);
  const auto q_BKGTD = q_BHTD.to(compute).reshape({B, K, H / K, T, D});
  const auto k = k_BKSD.to(compute), v = v_BKSD.to(compute);
  std::vector<torch::Tensor> blocks;
  for (int64_t t0 = 0; t0 < T; t0 += params.block_size) {
    const int64_t t = std::min(params.block_size, T - t0);
    const auto keys = block_keys(S, T, t0, t0 + t, sink_keys, params.window);
    const auto mask_tn = block_mask(keys, S - T + t0, t, sink_keys, params.window, q_BHTD.device());
    blocks.push_back(attend(q_BKGTD.narrow(3, t0, t), select_keys(k, keys), select_keys(v, keys),
                            mask_tn, scale));
  }
  auto y_BHTD = torch::cat(blocks, 3).reshape({B, H, T, D});
  if (params.gate_BTH.defined())
    y_BHTD = y_BHTD * params.gate_BTH.to(compute).permute({0, 2, 1}).unsqueeze(-1);
  return y_BHTD.to(dtype);
}

double sink_window_pairs(int64_t first, int64_t end, int64_t w, int64_t n_sink) {
  if (first < 0 || end < first || n_sink < 0) {
    throw std::invalid_argument("sink_window_pairs: need 0 <= first <= end and n_sink >= 0");
  }
  double pairs = visible_pairs(end, w) - visible_pairs(first, w);
  if (w == kDenseWindow) return pairs;
  for (int64_t p = first; p < end; ++p)
    pairs += static_cast<double>(std::min(n_sink, std::max<int64_t>(0, p - w)));
  return pairs;
}

}  // namespace attnlab::kernels
