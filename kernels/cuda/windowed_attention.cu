// The CUDA windowed attention kernels and their launchers (see windowed_attention.cuh).
//
// Three passes, in two implementations chosen by dtype:
//   forward  one block per (query tile, head, batch) keeps a running max / sum / output per row
//            (online softmax) while it walks the key tiles the window allows. Writes o (and
//            y = o·g) and lse.
//   backward (1) one warp per row: delta = rowsum(dO ∘ O) with dO = dy·g, and
//            dgate = rowsum(dy ∘ O); (2) one block per (key tile, kv head, batch): loops over
//            the G query heads of the group and the query tiles that see its keys, accumulating
//            dK and dV in registers (no atomics, deterministic); (3) one block per (query tile,
//            head, batch) for dQ. Both recompute p = exp(s - lse) and ds = p ∘ (dO·Vᵀ - delta).
// fp32: scalar FFMA over fp32 tiles in shared memory (rows padded to D + 1 floats so that a
// warp reading 32 different rows at one column hits 32 banks); lanes split keys (or rows) for
// the dot products and head dims for the accumulations, per-key weights go by warp shuffles.
// fp16 / bf16: tensor cores (mma.sync m16n8k16 with fp32 accumulators, mma_sm80.cuh) over
// 16-bit tiles; each warp owns 16 rows and keeps its scores and accumulators in registers in
// the mma layouts (mma_fragments.cuh). Softmax statistics, masks and the gate stay in fp32.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>

#include "mma_sm80.cuh"
#include "windowed_attention.cuh"
#include "windowed_attention_tiles.cuh"

namespace attnlab::kernels::cuda {
namespace {

// Tile shape for a head dim: kTile query rows and kTile keys per tile, 8 warps per block.
template <int D>
struct TileConfig {
  static_assert(D == 64 || D == 128, "head_dim must be 64 or 128");
  static constexpr int kTile = D == 64 ? 64 : 32;
  static constexpr int kWarps = 8;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kStride = D + 1;                // padded shared-memory row, in floats
  static constexpr int kTileFloats = kTile * kStride;  // one [kTile, D] tile
  static constexpr int kDimsPerLane = D / 32;          // lane owns dims lane + 32·c
  static constexpr int kRowsPerWarp = kTile / kWarps;  // rows (or keys) a warp owns
  static constexpr int kPerLane = kTile / 32;          // keys (or rows) a lane scores
};

constexpr unsigned kFullMask = 0xffffffffu;

template <class E>
struct Convert;
template <>
struct Convert<float> {
  __device__ static float load(float x) { return x; }
  __device__ static float store(float x) { return x; }
};
template <>
struct Convert<__half> {
  __device__ static float load(__half x) { return __half2float(x); }
  __device__ static __half store(float x) { return __float2half_rn(x); }
};
template <>
struct Convert<__nv_bfloat16> {
  __device__ static float load(__nv_bfloat16 x) { return __bfloat162float(x); }
  __device__ static __nv_bfloat16 store(float x) { return __float2bfloat16_rn(x); }
};

// The [T, D] slice of a [B, heads, T, D] tensor for (b, head).
template <class E>
__device__ E* slice(const StridedTensor& t, int64_t b, int64_t head) {
  return static_cast<E*>(t.data) + b * t.batch_stride + head * t.head_stride;
}

// gate_BTH[b, i, h] as fp32.
template <class E>
__device__ float gate_at(const StridedTensor& g, int64_t b, int64_t i, int64_t h) {
  return Convert<E>::load(static_cast<const E*>(g.data)[b * g.batch_stride + i * g.seq_stride +
                                                        h * g.head_stride]);
}

__device__ float warp_max(float x) {
  for (int offset = 16; offset > 0; offset /= 2) x = fmaxf(x, __shfl_xor_sync(kFullMask, x, offset));
  return x;
}

__device__ float warp_sum(float x) {
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

// Copies rows [row0, row0 + kTile) of a [T, D] slice into a padded fp32 tile, each row times
// row_scale[r] when row_scale is given; rows at or past T become zeros. Whole block calls it.
template <class E, int D>
__device__ void load_tile(float* tile, const E* src, int64_t seq_stride, int64_t row0, int64_t T,
                          const float* row_scale) {
  using Cfg = TileConfig<D>;
  for (int idx = threadIdx.x; idx < Cfg::kTile * D; idx += Cfg::kThreads) {
    const int r = idx / D, d = idx % D;
    const int64_t row = row0 + r;
    float x = 0.0f;
    if (row < T) {
      x = Convert<E>::load(src[row * seq_stride + d]);
      if (row_scale) x *= row_scale[r];
    }
    tile[r * Cfg::kStride + d] = x;
  }
}

// Dot product of two padded tile rows.
template <int D>
__device__ float row_dot(const float* a, const float* b) {
  float acc = 0.0f;
#pragma unroll 4
  for (int d = 0; d < D; ++d) acc = fmaf(a[d], b[d], acc);
  return acc;
}

// The backward inputs of query row i of head h: lse, delta and the gate that turns dy into
// dO (1 without a gate); zeros for rows past T.
struct RowStats {
  float lse, delta, gate;
};

template <class E>
__device__ RowStats row_stats(const WindowedAttentionParams& p, int64_t b, int64_t h, int64_t i) {
  if (i >= p.T) return {0.0f, 0.0f, 0.0f};
  const int64_t row = (b * p.H + h) * p.T + i;
  return {p.lse[row], p.delta[row], p.gate.data ? gate_at<E>(p.gate, b, i, h) : 1.0f};
}

// row_stats of the rows of one query tile into shared memory; gate_s may be null (not
// wanted). Whole block calls it; needs a barrier after.
template <class E>
__device__ void load_row_stats(const WindowedAttentionParams& p, int64_t b, int64_t h, int64_t i0,
                               int tile, float* lse_s, float* delta_s, float* gate_s) {
  for (int r = threadIdx.x; r < tile; r += blockDim.x) {
    const RowStats st = row_stats<E>(p, b, h, i0 + r);
    lse_s[r] = st.lse;
    delta_s[r] = st.delta;
    if (gate_s) gate_s[r] = st.gate;
  }
}

template <class E, int D>
__global__ void __launch_bounds__(TileConfig<D>::kThreads, 1)
    windowed_attention_fwd_kernel(const WindowedAttentionParams p) {
  using Cfg = TileConfig<D>;
  extern __shared__ float smem[];
  float* q_tile = smem;
  float* k_tile = q_tile + Cfg::kTileFloats;
  float* v_tile = k_tile + Cfg::kTileFloats;

  const int64_t b = blockIdx.z, h = blockIdx.y, kh = h / (p.H / p.K);
  const int64_t q0 = int64_t(blockIdx.x) * Cfg::kTile;
  const int64_t q1 = q0 + Cfg::kTile < p.T ? q0 + Cfg::kTile : p.T;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const E* k_src = slice<E>(p.k, b, kh);
  const E* v_src = slice<E>(p.v, b, kh);
  load_tile<E, D>(q_tile, slice<E>(p.q, b, h), p.q.seq_stride, q0, p.T, nullptr);

  float row_max[Cfg::kRowsPerWarp], row_sum[Cfg::kRowsPerWarp];
  float acc[Cfg::kRowsPerWarp][Cfg::kDimsPerLane];
#pragma unroll
  for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
    row_max[r] = -INFINITY;
    row_sum[r] = 0.0f;
#pragma unroll
    for (int c = 0; c < Cfg::kDimsPerLane; ++c) acc[r][c] = 0.0f;
  }

  const TileRange tiles = key_tiles_for_queries(q0, q1, p.window, Cfg::kTile);
  for (int64_t t = tiles.begin; t < tiles.end; ++t) {
    const int64_t k0 = t * Cfg::kTile;
    __syncthreads();  // the previous key tile is consumed
    load_tile<E, D>(k_tile, k_src, p.k.seq_stride, k0, p.T, nullptr);
    load_tile<E, D>(v_tile, v_src, p.v.seq_stride, k0, p.T, nullptr);
    __syncthreads();
#pragma unroll
    for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
      const int row = warp * Cfg::kRowsPerWarp + r;
      const int64_t i = q0 + row;
      if (i >= p.T) continue;  // uniform across the warp
      float s[Cfg::kPerLane];
      float tile_max = -INFINITY;
#pragma unroll
      for (int c = 0; c < Cfg::kPerLane; ++c) {
        const int key = lane + 32 * c;
        const int64_t j = k0 + key;
        s[c] = -INFINITY;
        if (j < p.T && window_visible(i, j, p.window))
          s[c] = row_dot<D>(q_tile + row * Cfg::kStride, k_tile + key * Cfg::kStride) * p.scale;
        tile_max = fmaxf(tile_max, s[c]);
      }
      tile_max = warp_max(tile_max);
      if (tile_max == -INFINITY) continue;  // no visible key in this tile for this row
      const float new_max = fmaxf(row_max[r], tile_max);
      const float correction = expf(row_max[r] - new_max);  // 0 on the first visible tile
      float prob[Cfg::kPerLane];
      float tile_sum = 0.0f;
#pragma unroll
      for (int c = 0; c < Cfg::kPerLane; ++c) {
        prob[c] = expf(s[c] - new_max);
        tile_sum += prob[c];
      }
      row_sum[r] = row_sum[r] * correction + warp_sum(tile_sum);
      row_max[r] = new_max;
#pragma unroll
      for (int c = 0; c < Cfg::kDimsPerLane; ++c) acc[r][c] *= correction;
#pragma unroll
      for (int c = 0; c < Cfg::kPerLane; ++c) {
        #pragma unroll 4
        for (int src = 0; src < 32; ++src) {
          const float pj = __shfl_sync(kFullMask, prob[c], src);
          const float* v_row = v_tile + (src + 32 * c) * Cfg::kStride;
#pragma unroll
          for (int dc = 0; dc < Cfg::kDimsPerLane; ++dc)
            acc[r][dc] = fmaf(pj, v_row[lane + 32 * dc], acc[r][dc]);
        }
      }
    }
  }

  E* o_dst = slice<E>(p.o, b, h);
  E* y_dst = p.gate.data ? slice<E>(p.y, b, h) : nullptr;
#pragma unroll
  for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
    const int64_t i = q0 + warp * Cfg::kRowsPerWarp + r;
    if (i >= p.T) continue;
    const float g = y_dst ? gate_at<E>(p.gate, b, i, h) : 1.0f;
#pragma unroll
    for (int c = 0; c < Cfg::kDimsPerLane; ++c) {
      const int d = lane + 32 * c;
      // Stored in the dtype; the gate multiplies the stored (rounded) o, as o·g would.
      const E o = Convert<E>::store(acc[r][c] / row_sum[r]);
      o_dst[i * p.o.seq_stride + d] = o;
      if (y_dst) y_dst[i * p.y.seq_stride + d] = Convert<E>::store(Convert<E>::load(o) * g);
    }
    if (lane == 0) p.lse[(b * p.H + h) * p.T + i] = row_max[r] + logf(row_sum[r]);
  }
}

// delta = rowsum(dO ∘ O) with dO = dy·g; dgate = rowsum(dy ∘ O). One warp per (b, h, i) row.
template <class E, int D>
__global__ void windowed_attention_bwd_delta_kernel(const WindowedAttentionParams p) {
  using Cfg = TileConfig<D>;
  const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= p.B * p.H * p.T) return;  // uniform across the warp
  const int64_t i = row % p.T, h = (row / p.T) % p.H, b = row / (p.T * p.H);
  const E* o = slice<E>(p.o, b, h) + i * p.o.seq_stride;
  const E* dy = slice<E>(p.dy, b, h) + i * p.dy.seq_stride;
  float dot = 0.0f;
#pragma unroll
  for (int c = 0; c < Cfg::kDimsPerLane; ++c) {
    const int d = lane + 32 * c;
    dot = fmaf(Convert<E>::load(dy[d]), Convert<E>::load(o[d]), dot);
  }
  dot = warp_sum(dot);
  if (lane != 0) return;
  if (p.gate.data) {
    static_cast<E*>(p.dgate.data)[b * p.dgate.batch_stride + i * p.dgate.seq_stride +
                                  h * p.dgate.head_stride] = Convert<E>::store(dot);
    dot *= gate_at<E>(p.gate, b, i, h);
  }
  p.delta[row] = dot;
}

// dK and dV of one key tile of kv head kh: each warp owns kRowsPerWarp keys, each lane scores
// kPerLane query rows of the current query tile against them.
template <class E, int D>
__global__ void __launch_bounds__(TileConfig<D>::kThreads, 1)
    windowed_attention_bwd_dkdv_kernel(const WindowedAttentionParams p) {
  using Cfg = TileConfig<D>;
  extern __shared__ float smem[];
  float* k_tile = smem;
  float* v_tile = k_tile + Cfg::kTileFloats;
  float* q_tile = v_tile + Cfg::kTileFloats;
  float* do_tile = q_tile + Cfg::kTileFloats;
  float* lse_s = do_tile + Cfg::kTileFloats;
  float* delta_s = lse_s + Cfg::kTile;
  float* gate_s = p.gate.data ? delta_s + Cfg::kTile : nullptr;

  const int64_t b = blockIdx.z, kh = blockIdx.y, group = p.H / p.K;
  const int64_t k0 = int64_t(blockIdx.x) * Cfg::kTile;
  const int64_t k1 = k0 + Cfg::kTile < p.T ? k0 + Cfg::kTile : p.T;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  load_tile<E, D>(k_tile, slice<E>(p.k, b, kh), p.k.seq_stride, k0, p.T, nullptr);
  load_tile<E, D>(v_tile, slice<E>(p.v, b, kh), p.v.seq_stride, k0, p.T, nullptr);

  float dk[Cfg::kRowsPerWarp][Cfg::kDimsPerLane], dv[Cfg::kRowsPerWarp][Cfg::kDimsPerLane];
#pragma unroll
  for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
#pragma unroll
    for (int c = 0; c < Cfg::kDimsPerLane; ++c) dk[r][c] = dv[r][c] = 0.0f;
  }

  const TileRange tiles = query_tiles_for_keys(k0, k1, p.T, p.window, Cfg::kTile);
  for (int64_t h = kh * group; h < (kh + 1) * group; ++h) {
    for (int64_t t = tiles.begin; t < tiles.end; ++t) {
      const int64_t i0 = t * Cfg::kTile;
      __syncthreads();  // the previous query tile is consumed
      load_row_stats<E>(p, b, h, i0, Cfg::kTile, lse_s, delta_s, gate_s);
      __syncthreads();  // gate_s is read by the dO load
      load_tile<E, D>(q_tile, slice<E>(p.q, b, h), p.q.seq_stride, i0, p.T, nullptr);
      load_tile<E, D>(do_tile, slice<E>(p.dy, b, h), p.dy.seq_stride, i0, p.T, gate_s);
      __syncthreads();
#pragma unroll
      for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
        const int key = warp * Cfg::kRowsPerWarp + r;
        const int64_t j = k0 + key;
        if (j >= p.T) continue;  // uniform across the warp
        float prob[Cfg::kPerLane], dscore[Cfg::kPerLane];
#pragma unroll
        for (int c = 0; c < Cfg::kPerLane; ++c) {
          const int row = lane + 32 * c;
          const int64_t i = i0 + row;
          prob[c] = dscore[c] = 0.0f;
          if (i < p.T && window_visible(i, j, p.window)) {
            const float s =
                row_dot<D>(q_tile + row * Cfg::kStride, k_tile + key * Cfg::kStride) * p.scale;
            prob[c] = expf(s - lse_s[row]);
            const float dp = row_dot<D>(do_tile + row * Cfg::kStride, v_tile + key * Cfg::kStride);
            dscore[c] = prob[c] * (dp - delta_s[row]);
          }
        }
#pragma unroll
        for (int c = 0; c < Cfg::kPerLane; ++c) {
          #pragma unroll 4
          for (int src = 0; src < 32; ++src) {
            const float pi = __shfl_sync(kFullMask, prob[c], src);
            const float dsi = __shfl_sync(kFullMask, dscore[c], src);
            const int row = src + 32 * c;
#pragma unroll
            for (int dc = 0; dc < Cfg::kDimsPerLane; ++dc) {
              const int d = lane + 32 * dc;
              dv[r][dc] = fmaf(pi, do_tile[row * Cfg::kStride + d], dv[r][dc]);
              dk[r][dc] = fmaf(dsi, q_tile[row * Cfg::kStride + d], dk[r][dc]);
            }
          }
        }
      }
    }
  }

  E* dk_dst = slice<E>(p.dk, b, kh);
  E* dv_dst = slice<E>(p.dv, b, kh);
#pragma unroll
  for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
    const int64_t j = k0 + warp * Cfg::kRowsPerWarp + r;
    if (j >= p.T) continue;
#pragma unroll
    for (int c = 0; c < Cfg::kDimsPerLane; ++c) {
      const int d = lane + 32 * c;
      dk_dst[j * p.dk.seq_stride + d] = Convert<E>::store(dk[r][c] * p.scale);
      dv_dst[j * p.dv.seq_stride + d] = Convert<E>::store(dv[r][c]);
    }
  }
}

// dQ of one query tile of head h: each warp owns kRowsPerWarp rows, each lane scores kPerLane
// keys of the current key tile.
template <class E, int D>
__global__ void __launch_bounds__(TileConfig<D>::kThreads, 1)
    windowed_attention_bwd_dq_kernel(const WindowedAttentionParams p) {
  using Cfg = TileConfig<D>;
  extern __shared__ float smem[];
  float* q_tile = smem;
  float* do_tile = q_tile + Cfg::kTileFloats;
  float* k_tile = do_tile + Cfg::kTileFloats;
  float* v_tile = k_tile + Cfg::kTileFloats;
  float* lse_s = v_tile + Cfg::kTileFloats;
  float* delta_s = lse_s + Cfg::kTile;
  float* gate_s = p.gate.data ? delta_s + Cfg::kTile : nullptr;

  const int64_t b = blockIdx.z, h = blockIdx.y, kh = h / (p.H / p.K);
  const int64_t q0 = int64_t(blockIdx.x) * Cfg::kTile;
  const int64_t q1 = q0 + Cfg::kTile < p.T ? q0 + Cfg::kTile : p.T;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const E* k_src = slice<E>(p.k, b, kh);
  const E* v_src = slice<E>(p.v, b, kh);
  load_row_stats<E>(p, b, h, q0, Cfg::kTile, lse_s, delta_s, gate_s);
  __syncthreads();  // gate_s is read by the dO load
  load_tile<E, D>(q_tile, slice<E>(p.q, b, h), p.q.seq_stride, q0, p.T, nullptr);
  load_tile<E, D>(do_tile, slice<E>(p.dy, b, h), p.dy.seq_stride, q0, p.T, gate_s);

  float dq[Cfg::kRowsPerWarp][Cfg::kDimsPerLane];
#pragma unroll
  for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
#pragma unroll
    for (int c = 0; c < Cfg::kDimsPerLane; ++c) dq[r][c] = 0.0f;
  }

  const TileRange tiles = key_tiles_for_queries(q0, q1, p.window, Cfg::kTile);
  for (int64_t t = tiles.begin; t < tiles.end; ++t) {
    const int64_t k0 = t * Cfg::kTile;
    __syncthreads();  // the previous key tile is consumed
    load_tile<E, D>(k_tile, k_src, p.k.seq_stride, k0, p.T, nullptr);
    load_tile<E, D>(v_tile, v_src, p.v.seq_stride, k0, p.T, nullptr);
    __syncthreads();
#pragma unroll
    for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
      const int row = warp * Cfg::kRowsPerWarp + r;
      const int64_t i = q0 + row;
      if (i >= p.T) continue;  // uniform across the warp
      float dscore[Cfg::kPerLane];
#pragma unroll
      for (int c = 0; c < Cfg::kPerLane; ++c) {
        const int key = lane + 32 * c;
        const int64_t j = k0 + key;
        dscore[c] = 0.0f;
        if (j < p.T && window_visible(i, j, p.window)) {
          const float s =
              row_dot<D>(q_tile + row * Cfg::kStride, k_tile + key * Cfg::kStride) * p.scale;
          const float dp = row_dot<D>(do_tile + row * Cfg::kStride, v_tile + key * Cfg::kStride);
          dscore[c] = expf(s - lse_s[row]) * (dp - delta_s[row]);
        }
      }
#pragma unroll
      for (int c = 0; c < Cfg::kPerLane; ++c) {
        #pragma unroll 4
        for (int src = 0; src < 32; ++src) {
          const float dsj = __shfl_sync(kFullMask, dscore[c], src);
          const float* k_row = k_tile + (src + 32 * c) * Cfg::kStride;
#pragma unroll
          for (int dc = 0; dc < Cfg::kDimsPerLane; ++dc)
            dq[r][dc] = fmaf(dsj, k_row[lane + 32 * dc], dq[r][dc]);
        }
      }
    }
  }

  E* dq_dst = slice<E>(p.dq, b, h);
#pragma unroll
  for (int r = 0; r < Cfg::kRowsPerWarp; ++r) {
    const int64_t i = q0 + warp * Cfg::kRowsPerWarp + r;
    if (i >= p.T) continue;
#pragma unroll
    for (int c = 0; c < Cfg::kDimsPerLane; ++c)
      dq_dst[i * p.dq.seq_stride + lane + 32 * c] = Convert<E>::store(dq[r][c] * p.scale);
  }
}

// ---- Tensor-core kernels (fp16, bf16; sm_80 or newer). ----

// Tile shape of the tensor-core kernels for a head dim. 4 warps; each owns 16 of the block's
// 64 rows (query rows in the forward and dQ, keys in dK/dV). The forward and dQ walk key tiles
// of 64 keys; dK/dV walks query tiles of kQueryTile rows: 32 at D = 128, where dK, dV (64
// registers each) plus Sᵀ and dPᵀ of a 64-row tile would not fit in 255 registers.
template <int D>
struct MmaConfig {
  static_assert(D == 64 || D == 128, "head_dim must be 64 or 128");
  static constexpr int kWarps = 4;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kRows = 16 * kWarps;
  static constexpr int kKeyTile = 64;
  static constexpr int kQueryTile = D == 64 ? 64 : 32;
  static constexpr int kStride = D + 8;  // padded row (elements): 8 ldmatrix rows hit 32 banks
  static constexpr size_t tile_bytes(int rows) { return size_t(rows) * kStride * 2; }
  static constexpr size_t kFwdBytes = tile_bytes(kRows) + 2 * tile_bytes(kKeyTile);
  static constexpr size_t kDqBytes = 2 * tile_bytes(kRows) + 2 * tile_bytes(kKeyTile);
  static constexpr size_t kDkdvBytes =
      2 * tile_bytes(kRows) + 2 * tile_bytes(kQueryTile) + 3 * kQueryTile * sizeof(float);
};

// 8 consecutive elements (16 bytes) from global memory, by one vector load when `vector`.
template <class E>
__device__ uint4 load_chunk(const E* src, bool vector) {
  if (vector) return *reinterpret_cast<const uint4*>(src);
  E e[8];
#pragma unroll
  for (int k = 0; k < 8; ++k) e[k] = src[k];
  uint4 chunk;
  std::memcpy(&chunk, e, sizeof chunk);
  return chunk;
}

// Copies rows [row0, row0 + kRows) of a [T, D] slice into a 16-bit shared tile with row stride
// kStride; rows at or past T become zeros. Whole block calls it.
template <class E, int D, int kRows>
__device__ void load_tile16(E* tile, const E* src, int64_t seq_stride, int64_t row0, int64_t T) {
  using Cfg = MmaConfig<D>;
  constexpr int kChunks = D / 8;
  const bool vector = reinterpret_cast<uintptr_t>(src) % 16 == 0 && seq_stride % 8 == 0;
  for (int idx = threadIdx.x; idx < kRows * kChunks; idx += Cfg::kThreads) {
    const int r = idx / kChunks, c = idx % kChunks * 8;
    const int64_t row = row0 + r;
    const uint4 chunk =
        row < T ? load_chunk(src + row * seq_stride + c, vector) : make_uint4(0, 0, 0, 0);
    *reinterpret_cast<uint4*>(tile + r * Cfg::kStride + c) = chunk;
  }
}

// Whether query i and key j form a visible pair of real rows (i < T; j <= i then implies j < T).
__device__ bool pair_visible(const WindowedAttentionParams& p, int64_t i, int64_t j) {
  return i < p.T && window_visible(i, j, p.window);
}

// Whether the warp's 16 query rows from i0 see a key of key tile t.
__device__ bool rows_see_key_tile(const WindowedAttentionParams& p, int64_t i0, int64_t t,
                                  int tile_keys) {
  if (i0 >= p.T) return false;
  const TileRange r = key_tiles_for_queries(i0, i0 + 16 < p.T ? i0 + 16 : p.T, p.window, tile_keys);
  return t >= r.begin && t < r.end;
}

// Whether the warp's 16 keys from j0 are seen by a query of query tile t.
__device__ bool keys_seen_by_query_tile(const WindowedAttentionParams& p, int64_t j0, int64_t t,
                                        int tile_queries) {
  if (j0 >= p.T) return false;
  const TileRange r =
      query_tiles_for_keys(j0, j0 + 16 < p.T ? j0 + 16 : p.T, p.T, p.window, tile_queries);
  return t >= r.begin && t < r.end;
}

// Scales a warp's 16 × N scores (query rows i0 + c.row, keys j0 + 8·nb + c.col) and sets those
// of invisible pairs to -inf.
template <int N>
__device__ void mask_scores(float (&s)[N / 8][4], const WindowedAttentionParams& p, int64_t i0,
                            int64_t j0, int lane) {
#pragma unroll
  for (int nb = 0; nb < N / 8; ++nb) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const mma::Coord c = mma::c_element(lane, e);
      s[nb][e] = pair_visible(p, i0 + c.row, j0 + 8 * nb + c.col) ? s[nb][e] * p.scale : -INFINITY;
    }
  }
}

// One key tile of the online softmax for a lane's two rows: updates the running max and the
// lane's partial row sums, rescales the output accumulators o, and turns s into exp(s - max).
template <int N, int D>
__device__ void online_softmax(float (&s)[N / 8][4], float (&row_max)[2], float (&row_sum)[2],
                               float (&o)[D / 8][4]) {
  float tile_max[2] = {-INFINITY, -INFINITY}, base[2], correction[2];
#pragma unroll
  for (int nb = 0; nb < N / 8; ++nb) {
#pragma unroll
    for (int e = 0; e < 4; ++e)
      tile_max[mma::c_row_slot(e)] = fmaxf(tile_max[mma::c_row_slot(e)], s[nb][e]);
  }
#pragma unroll
  for (int slot = 0; slot < 2; ++slot) {
    const float new_max = fmaxf(row_max[slot], mma::quad_max(tile_max[slot]));
    base[slot] = new_max == -INFINITY ? 0.0f : new_max;   // a row with nothing visible yet
    correction[slot] = expf(row_max[slot] - base[slot]);  // 0 before the first visible key
    row_max[slot] = new_max;
    row_sum[slot] *= correction[slot];
  }
#pragma unroll
  for (int nb = 0; nb < N / 8; ++nb) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      s[nb][e] = expf(s[nb][e] - base[mma::c_row_slot(e)]);
      row_sum[mma::c_row_slot(e)] += s[nb][e];
    }
  }
#pragma unroll
  for (int nd = 0; nd < D / 8; ++nd) {
#pragma unroll
    for (int e = 0; e < 4; ++e) o[nd][e] *= correction[mma::c_row_slot(e)];
  }
}

// Writes a warp's 16 rows from i0: o = acc / rowsum, y = o·g with a gate, lse = max + log(sum).
template <class E, int D>
__device__ void store_forward(const WindowedAttentionParams& p, int64_t b, int64_t h, int64_t i0,
                              const float (&acc)[D / 8][4], const float (&row_max)[2],
                              const float (&row_sum)[2], int lane) {
  E* o_dst = slice<E>(p.o, b, h);
  E* y_dst = p.gate.data ? slice<E>(p.y, b, h) : nullptr;
  float inv_sum[2], gate[2];
#pragma unroll
  for (int slot = 0; slot < 2; ++slot) {
    const float sum = mma::quad_sum(row_sum[slot]);
    const int64_t i = i0 + mma::c_element(lane, 2 * slot).row;
    inv_sum[slot] = 1.0f / sum;
    gate[slot] = y_dst && i < p.T ? gate_at<E>(p.gate, b, i, h) : 1.0f;
    if (i < p.T && lane % 4 == 0) p.lse[(b * p.H + h) * p.T + i] = row_max[slot] + logf(sum);
  }
#pragma unroll
  for (int nd = 0; nd < D / 8; ++nd) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const mma::Coord c = mma::c_element(lane, e);
      const int64_t i = i0 + c.row, d = 8 * nd + c.col;
      if (i >= p.T) continue;
      // Stored in the dtype; the gate multiplies the stored (rounded) o, as o·g would.
      const E o = Convert<E>::store(acc[nd][e] * inv_sum[mma::c_row_slot(e)]);
      o_dst[i * p.o.seq_stride + d] = o;
      if (y_dst)
        y_dst[i * p.y.seq_stride + d] =
            Convert<E>::store(Convert<E>::load(o) * gate[mma::c_row_slot(e)]);
    }
  }
}

// Writes a warp's 16 × D accumulators (rows r0 + c.row of a [T, D] slice) times `factor`,
// skipping rows at or past T.
template <class E, int D>
__device__ void store_rows(E* dst, int64_t seq_stride, int64_t r0, int64_t T,
                           const float (&acc)[D / 8][4], float factor, int lane) {
#pragma unroll
  for (int nd = 0; nd < D / 8; ++nd) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const mma::Coord c = mma::c_element(lane, e);
      if (r0 + c.row < T)
        dst[(r0 + c.row) * seq_stride + 8 * nd + c.col] = Convert<E>::store(acc[nd][e] * factor);
    }
  }
}

// Where a block of a query-tile MMA kernel works: batch b, query head h and its kv head kh, the
// block's query rows [q0, q1), and for this thread its warp, lane and the warp's first row i0.
struct QueryBlock {
  int64_t b, h, kh, q0, q1, i0;
  int warp, lane;
};

template <int kRows>
__device__ QueryBlock query_block(const WindowedAttentionParams& p) {
  const int64_t h = blockIdx.y, q0 = int64_t(blockIdx.x) * kRows;
  const int warp = threadIdx.x / 32;
  return {blockIdx.z, h, h / (p.H / p.K), q0, q0 + kRows < p.T ? q0 + kRows : p.T,
          q0 + 16 * warp, warp, static_cast<int>(threadIdx.x % 32)};
}

// Loads key tile t (k and v) into shared memory once every warp is done with the previous one;
// returns whether the warp's 16 rows from i0 see any of its keys (uniform across the warp).
template <class E, int D, int N>
__device__ bool load_key_tile(E* k_tile, E* v_tile, const E* k_src, const E* v_src,
                              const WindowedAttentionParams& p, int64_t t, int64_t i0) {
  __syncthreads();
  load_tile16<E, D, N>(k_tile, k_src, p.k.seq_stride, t * N, p.T);
  load_tile16<E, D, N>(v_tile, v_src, p.v.seq_stride, t * N, p.T);
  __syncthreads();
  return rows_see_key_tile(p, i0, t, N);
}

template <class E, int D>
__global__ void __launch_bounds__(MmaConfig<D>::kThreads, 1)
    windowed_attention_fwd_mma_kernel(const WindowedAttentionParams p) {
  using Cfg = MmaConfig<D>;
  constexpr int N = Cfg::kKeyTile;
  extern __shared__ uint4 smem16[];
  E* q_tile = reinterpret_cast<E*>(smem16);
  E* k_tile = q_tile + Cfg::kRows * Cfg::kStride;
  E* v_tile = k_tile + N * Cfg::kStride;

  const auto [b, h, kh, q0, q1, i0, warp, lane] = query_block<Cfg::kRows>(p);
  const E* k_src = slice<E>(p.k, b, kh);
  const E* v_src = slice<E>(p.v, b, kh);
  load_tile16<E, D, Cfg::kRows>(q_tile, slice<E>(p.q, b, h), p.q.seq_stride, q0, p.T);

  float acc[D / 8][4] = {};
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f};
  const TileRange tiles = key_tiles_for_queries(q0, q1, p.window, N);
  for (int64_t t = tiles.begin; t < tiles.end; ++t) {
    const int64_t k0 = t * N;
    if (!load_key_tile<E, D, N>(k_tile, v_tile, k_src, v_src, p, t, i0)) continue;
    float s[N / 8][4] = {};
    mma::mma_a_bt<E, N, D, Cfg::kStride>(s, q_tile + 16 * warp * Cfg::kStride, k_tile, lane);
    mask_scores<N>(s, p, i0, k0, lane);
    online_softmax<N, D>(s, row_max, row_sum, acc);
    uint32_t prob[N / 16][4];
    mma::accumulators_as_a<E, N>(s, prob);
    mma::mma_p_b<E, D, N, Cfg::kStride>(acc, prob, v_tile, lane);
  }
  store_forward<E, D>(p, b, h, i0, acc, row_max, row_sum, lane);
}

// dK and dV of one key tile of kv head kh; warp w owns keys k0 + 16w .. + 15 and computes
// Sᵀ = K·Qᵀ and dPᵀ = V·dyᵀ per query tile, then dV += (P·g)ᵀ·dy and dK += dSᵀ·Q. The gate is
// applied in fp32 (dO = dy·g), so dy stays unrounded in shared memory.
template <class E, int D>
__global__ void __launch_bounds__(MmaConfig<D>::kThreads, 1)
    windowed_attention_bwd_dkdv_mma_kernel(const WindowedAttentionParams p) {
  using Cfg = MmaConfig<D>;
  constexpr int M = Cfg::kQueryTile;
  extern __shared__ uint4 smem16[];
  E* k_tile = reinterpret_cast<E*>(smem16);
  E* v_tile = k_tile + Cfg::kRows * Cfg::kStride;
  E* q_tile = v_tile + Cfg::kRows * Cfg::kStride;
  E* dy_tile = q_tile + M * Cfg::kStride;
  float* lse_s = reinterpret_cast<float*>(dy_tile + M * Cfg::kStride);
  float* delta_s = lse_s + M;
  float* gate_s = delta_s + M;

  const int64_t b = blockIdx.z, kh = blockIdx.y, group = p.H / p.K;
  const int64_t k0 = int64_t(blockIdx.x) * Cfg::kRows;
  const int64_t k1 = k0 + Cfg::kRows < p.T ? k0 + Cfg::kRows : p.T;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t j0 = k0 + 16 * warp;  // the warp's first key
  load_tile16<E, D, Cfg::kRows>(k_tile, slice<E>(p.k, b, kh), p.k.seq_stride, k0, p.T);
  load_tile16<E, D, Cfg::kRows>(v_tile, slice<E>(p.v, b, kh), p.v.seq_stride, k0, p.T);

  float dk[D / 8][4] = {}, dv[D / 8][4] = {};
  const TileRange tiles = query_tiles_for_keys(k0, k1, p.T, p.window, M);
  for (int64_t h = kh * group; h < (kh + 1) * group; ++h) {
    for (int64_t t = tiles.begin; t < tiles.end; ++t) {
      const int64_t i0 = t * M;
      __syncthreads();  // the previous query tile is consumed
      load_row_stats<E>(p, b, h, i0, M, lse_s, delta_s, gate_s);
      load_tile16<E, D, M>(q_tile, slice<E>(p.q, b, h), p.q.seq_stride, i0, p.T);
      load_tile16<E, D, M>(dy_tile, slice<E>(p.dy, b, h), p.dy.seq_stride, i0, p.T);
      __syncthreads();
      if (!keys_seen_by_query_tile(p, j0, t, M)) continue;  // uniform across the warp
      float st[M / 8][4] = {}, dpt[M / 8][4] = {};
      mma::mma_a_bt<E, M, D, Cfg::kStride>(st, k_tile + 16 * warp * Cfg::kStride, q_tile, lane);
      mma::mma_a_bt<E, M, D, Cfg::kStride>(dpt, v_tile + 16 * warp * Cfg::kStride, dy_tile, lane);
#pragma unroll
      for (int nb = 0; nb < M / 8; ++nb) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const mma::Coord c = mma::c_element(lane, e);
          const int col = 8 * nb + c.col;  // the query row in the tile
          const bool visible = pair_visible(p, i0 + col, j0 + c.row);
          const float prob = visible ? expf(st[nb][e] * p.scale - lse_s[col]) : 0.0f;
          st[nb][e] = prob * gate_s[col];
          dpt[nb][e] = prob * (dpt[nb][e] * gate_s[col] - delta_s[col]);
        }
      }
      uint32_t frag[M / 16][4];
      mma::accumulators_as_a<E, M>(st, frag);
      mma::mma_p_b<E, D, M, Cfg::kStride>(dv, frag, dy_tile, lane);
      mma::accumulators_as_a<E, M>(dpt, frag);
      mma::mma_p_b<E, D, M, Cfg::kStride>(dk, frag, q_tile, lane);
    }
  }
  store_rows<E, D>(slice<E>(p.dk, b, kh), p.dk.seq_stride, j0, p.T, dk, p.scale, lane);
  store_rows<E, D>(slice<E>(p.dv, b, kh), p.dv.seq_stride, j0, p.T, dv, 1.0f, lane);
}

// dQ of one query tile of head h; warp w owns rows q0 + 16w .. + 15 and computes S = Q·Kᵀ and
// dP = dy·Vᵀ per key tile, then dQ += dS·K (the gate applied in fp32, as in dK/dV).
template <class E, int D>
__global__ void __launch_bounds__(MmaConfig<D>::kThreads, 1)
    windowed_attention_bwd_dq_mma_kernel(const WindowedAttentionParams p) {
  using Cfg = MmaConfig<D>;
  constexpr int N = Cfg::kKeyTile;
  extern __shared__ uint4 smem16[];
  E* q_tile = reinterpret_cast<E*>(smem16);
  E* dy_tile = q_tile + Cfg::kRows * Cfg::kStride;
  E* k_tile = dy_tile + Cfg::kRows * Cfg::kStride;
  E* v_tile = k_tile + N * Cfg::kStride;

  const auto [b, h, kh, q0, q1, i0, warp, lane] = query_block<Cfg::kRows>(p);
  const E* k_src = slice<E>(p.k, b, kh);
  const E* v_src = slice<E>(p.v, b, kh);
  load_tile16<E, D, Cfg::kRows>(q_tile, slice<E>(p.q, b, h), p.q.seq_stride, q0, p.T);
  load_tile16<E, D, Cfg::kRows>(dy_tile, slice<E>(p.dy, b, h), p.dy.seq_stride, q0, p.T);
  const RowStats stats[2] = {row_stats<E>(p, b, h, i0 + mma::c_element(lane, 0).row),
                             row_stats<E>(p, b, h, i0 + mma::c_element(lane, 2).row)};

  float dq[D / 8][4] = {};
  const TileRange tiles = key_tiles_for_queries(q0, q1, p.window, N);
  for (int64_t t = tiles.begin; t < tiles.end; ++t) {
    const int64_t k0 = t * N;
    if (!load_key_tile<E, D, N>(k_tile, v_tile, k_src, v_src, p, t, i0)) continue;
    float s[N / 8][4] = {}, dp[N / 8][4] = {};
    mma::mma_a_bt<E, N, D, Cfg::kStride>(s, q_tile + 16 * warp * Cfg::kStride, k_tile, lane);
    mma::mma_a_bt<E, N, D, Cfg::kStride>(dp, dy_tile + 16 * warp * Cfg::kStride, v_tile, lane);
#pragma unroll
    for (int nb = 0; nb < N / 8; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const mma::Coord c = mma::c_element(lane, e);
        const RowStats& st = stats[mma::c_row_slot(e)];
        const bool visible = pair_visible(p, i0 + c.row, k0 + 8 * nb + c.col);
        const float prob = visible ? expf(s[nb][e] * p.scale - st.lse) : 0.0f;
        s[nb][e] = prob * (dp[nb][e] * st.gate - st.delta);
      }
    }
    uint32_t ds[N / 16][4];
    mma::accumulators_as_a<E, N>(s, ds);
    mma::mma_p_b<E, D, N, Cfg::kStride>(dq, ds, k_tile, lane);
  }
  store_rows<E, D>(slice<E>(p.dq, b, h), p.dq.seq_stride, i0, p.T, dq, p.scale, lane);
}

// ---- Launchers: argument checks, then one dtype × head_dim switch. ----

// One tiled kernel and its launch shape: blocks of `threads` over `tile` rows of T each,
// `bytes` of dynamic shared memory.
struct Pass {
  void (*kernel)(WindowedAttentionParams);
  int64_t tile;
  int threads;
  size_t bytes;
  bool tensor_cores;  // needs sm_80 or newer
};

// The tiled kernels for an element type and head dim: tensor cores for fp16 and bf16 ...
template <class E, int D>
struct Plan {
  using Elem = E;
  static constexpr int kDim = D;
  using Cfg = MmaConfig<D>;
  static Pass fwd() {
    return {windowed_attention_fwd_mma_kernel<E, D>, Cfg::kRows, Cfg::kThreads, Cfg::kFwdBytes,
            true};
  }
  static Pass dkdv() {
    return {windowed_attention_bwd_dkdv_mma_kernel<E, D>, Cfg::kRows, Cfg::kThreads,
            Cfg::kDkdvBytes, true};
  }
  static Pass dq() {
    return {windowed_attention_bwd_dq_mma_kernel<E, D>, Cfg::kRows, Cfg::kThreads, Cfg::kDqBytes,
            true};
  }
};

// ... and scalar FFMA for fp32.
template <int D>
struct Plan<float, D> {
  using Elem = float;
  static constexpr int kDim = D;
  using Cfg = TileConfig<D>;
  static constexpr size_t kBwdBytes = (4 * Cfg::kTileFloats + 3 * Cfg::kTile) * sizeof(float);
  static Pass fwd() {
    return {windowed_attention_fwd_kernel<float, D>, Cfg::kTile, Cfg::kThreads,
            3 * Cfg::kTileFloats * sizeof(float), false};
  }
  static Pass dkdv() {
    return {windowed_attention_bwd_dkdv_kernel<float, D>, Cfg::kTile, Cfg::kThreads, kBwdBytes,
            false};
  }
  static Pass dq() {
    return {windowed_attention_bwd_dq_kernel<float, D>, Cfg::kTile, Cfg::kThreads, kBwdBytes,
            false};
  }
};

// Calls fn(Plan<E, D>{}) for the params' dtype and head dim (both checked before).
template <class Fn>
std::string dispatch(const WindowedAttentionParams& p, Fn&& fn) {
  const bool d64 = p.D == 64;
  switch (p.dtype) {
    case WindowedAttentionDtype::kFloat32:
      return d64 ? fn(Plan<float, 64>{}) : fn(Plan<float, 128>{});
    case WindowedAttentionDtype::kFloat16:
      return d64 ? fn(Plan<__half, 64>{}) : fn(Plan<__half, 128>{});
    case WindowedAttentionDtype::kBFloat16:
      return d64 ? fn(Plan<__nv_bfloat16, 64>{}) : fn(Plan<__nv_bfloat16, 128>{});
  }
  return "unreachable dtype";
}

std::string check_tensor(const char* name, const StridedTensor& t) {
  if (!t.data) return std::string(name) + ".data is null: pass the device pointer of " + name;
  if (t.batch_stride < 0 || t.head_stride < 0 || t.seq_stride < 0)
    return std::string(name) + " has a negative stride; pass a view with non-negative strides";
  return "";
}

// Checks shared by forward and backward; `names` are the tensors this pass needs.
std::string check_params(const WindowedAttentionParams& p,
                         std::initializer_list<std::pair<const char*, const StridedTensor*>> names) {
  if (p.dtype != WindowedAttentionDtype::kFloat32 && p.dtype != WindowedAttentionDtype::kFloat16 &&
      p.dtype != WindowedAttentionDtype::kBFloat16)
    return "dtype " + std::to_string(static_cast<int>(p.dtype)) + " is not fp32, fp16 or bf16";
  if (p.D != 64 && p.D != 128)
    return "head_dim D = " + std::to_string(p.D) +
           " is not supported by the CUDA kernel (64 or 128); use the CPU/ATen path";
  if (p.B < 0 || p.T < 0) return "B and T must be >= 0, got B = " + std::to_string(p.B) +
                                 ", T = " + std::to_string(p.T);
  if (p.K <= 0 || p.H <= 0 || p.H % p.K != 0)
    return "query heads H = " + std::to_string(p.H) + " must be a positive multiple of kv heads K = " +
           std::to_string(p.K);
  if (p.window < -1)
    return "window must be >= 0 or -1 (dense causal), got " + std::to_string(p.window);
  if (!(p.scale > 0.0f) || !std::isfinite(p.scale))
    return "scale must be finite and > 0 (usually 1/sqrt(D)), got " + std::to_string(p.scale);
  if (p.B > 65535 || p.H > 65535)
    return "B and H must be <= 65535 (CUDA grid limit), got B = " + std::to_string(p.B) +
           ", H = " + std::to_string(p.H);
  for (const auto& [name, tensor] : names)
    if (std::string err = check_tensor(name, *tensor); !err.empty()) return err;
  if (!p.lse) return "lse is null: pass a contiguous fp32 [B, H, T] device buffer";
  return "";
}

// Checks the device, raises the kernel's dynamic shared-memory limit, then launches it over
// (tiles of T, heads, B) blocks.
std::string launch(const Pass& pass, int64_t heads, cudaStream_t stream,
                   const WindowedAttentionParams& p, const char* what) {
  int device = 0, max_bytes = 0, major = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess)
    err = cudaDeviceGetAttribute(&max_bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (err == cudaSuccess)
    err = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (err != cudaSuccess) return std::string(what) + ": " + cudaGetErrorString(err);
  if (pass.tensor_cores && major < 8)
    return std::string(what) + " uses tensor-core mma.sync for fp16 / bf16, which needs an sm_80 " +
           "or newer GPU; this one is sm_" + std::to_string(major) + "x";
  if (pass.bytes > static_cast<size_t>(max_bytes))
    return std::string(what) + " needs " + std::to_string(pass.bytes) +
           " bytes of shared memory per block, the device allows " + std::to_string(max_bytes) +
           " (an sm_80 or newer GPU is needed)";
  err = cudaFuncSetAttribute(pass.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(pass.bytes));
  if (err != cudaSuccess) return std::string(what) + ": " + cudaGetErrorString(err);
  const dim3 grid((p.T + pass.tile - 1) / pass.tile, heads, p.B);
  pass.kernel<<<grid, pass.threads, pass.bytes, stream>>>(p);
  err = cudaGetLastError();
  if (err != cudaSuccess) return std::string(what) + " launch failed: " + cudaGetErrorString(err);
  return "";
}

std::string with_prefix(const char* fn, const std::string& err) {
  return err.empty() ? err : std::string(fn) + ": " + err;
}

}  // namespace

std::string launch_windowed_attention_fwd(const WindowedAttentionParams& p, cudaStream_t stream) {
  const char* fn = "launch_windowed_attention_fwd";
  const bool gated = p.gate.data != nullptr;
  std::string err = check_params(p, {{"q", &p.q}, {"k", &p.k}, {"v", &p.v}, {"o", &p.o}});
  if (err.empty() && gated) err = check_tensor("y (the gated output, needed with a gate)", p.y);
  if (!err.empty()) return with_prefix(fn, err);
  if (p.B == 0 || p.T == 0) return "";
  return with_prefix(fn, dispatch(p, [&](auto plan) {
    return launch(plan.fwd(), p.H, stream, p, "forward kernel");
  }));
}

std::string launch_windowed_attention_bwd(const WindowedAttentionParams& p, cudaStream_t stream) {
  const char* fn = "launch_windowed_attention_bwd";
  const bool gated = p.gate.data != nullptr;
  std::string err = check_params(p, {{"q", &p.q}, {"k", &p.k}, {"v", &p.v}, {"o", &p.o},
                                     {"dy", &p.dy}, {"dq", &p.dq}, {"dk", &p.dk}, {"dv", &p.dv}});
  if (err.empty() && gated) err = check_tensor("dgate (needed with a gate)", p.dgate);
  if (err.empty() && !p.delta) err = "delta is null: pass a contiguous fp32 [B, H, T] workspace";
  if (!err.empty()) return with_prefix(fn, err);
  if (p.B == 0 || p.T == 0) return "";
  return with_prefix(fn, dispatch(p, [&](auto plan) {
    using P = decltype(plan);
    using Cfg = TileConfig<P::kDim>;  // the delta kernel: one warp per row, any dtype
    const int64_t rows = p.B * p.H * p.T, warps_per_block = Cfg::kWarps;
    windowed_attention_bwd_delta_kernel<typename P::Elem, P::kDim>
        <<<(rows + warps_per_block - 1) / warps_per_block, Cfg::kThreads, 0, stream>>>(p);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess)
      return std::string("delta kernel launch failed: ") + cudaGetErrorString(e);
    std::string e = launch(plan.dkdv(), p.K, stream, p, "dK/dV kernel");
    if (!e.empty()) return e;
    return launch(plan.dq(), p.H, stream, p, "dQ kernel");
  }));
}

}  // namespace attnlab::kernels::cuda
