// The CUDA windowed attention kernels and their launchers (see windowed_attention.cuh).
//
// Three passes, each over fp32 tiles in shared memory (rows padded to D + 1 floats so that a
// warp reading 32 different rows at one column hits 32 banks):
//   forward  one block per (query tile, head, batch); each warp owns rows of the tile and
//            keeps a running max / sum / output per row (online softmax) while it walks the
//            key tiles the window allows. Writes o (and y = o·g) and lse.
//   backward (1) one warp per row: delta = rowsum(dO ∘ O) with dO = dy·g, and dgate = rowsum(dy ∘ O);
//            (2) one block per (key tile, kv head, batch): loops over the G query heads of the
//            group and the query tiles that see its keys, accumulating dK and dV in registers
//            (no atomics, deterministic); (3) one block per (query tile, head, batch) for dQ.
//            Both recompute p = exp(s - lse) and ds = p ∘ (dO·Vᵀ - delta).
// Lanes split keys (or rows) for the dot products and head dims for the accumulations; the
// per-key weights are broadcast with warp shuffles. Scalar fp32 FMAs: correctness first,
// tensor-core MMA is the next step (docs/GPU.md).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>

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

// Per-row backward inputs of one query tile (rows past T get zeros): lse, delta and, with a
// gate, the gate values that turn dy into dO. Whole block calls it; needs a barrier after.
template <class E>
__device__ void load_row_stats(const WindowedAttentionParams& p, int64_t b, int64_t h, int64_t i0,
                               int tile, float* lse_s, float* delta_s, float* gate_s) {
  for (int r = threadIdx.x; r < tile; r += blockDim.x) {
    const int64_t i = i0 + r;
    const bool in = i < p.T;
    const int64_t row = (b * p.H + h) * p.T + i;
    lse_s[r] = in ? p.lse[row] : 0.0f;
    delta_s[r] = in ? p.delta[row] : 0.0f;
    if (gate_s) gate_s[r] = in ? gate_at<E>(p.gate, b, i, h) : 0.0f;
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

// ---- Launchers: argument checks, then one dtype × head_dim switch. ----

template <class E, int D>
struct Instance {
  using Elem = E;
  static constexpr int kDim = D;
};

// Calls fn(Instance<E, D>{}) for the params' dtype and head dim (both checked before).
template <class Fn>
std::string dispatch(const WindowedAttentionParams& p, Fn&& fn) {
  const bool d64 = p.D == 64;
  switch (p.dtype) {
    case WindowedAttentionDtype::kFloat32:
      return d64 ? fn(Instance<float, 64>{}) : fn(Instance<float, 128>{});
    case WindowedAttentionDtype::kFloat16:
      return d64 ? fn(Instance<__half, 64>{}) : fn(Instance<__half, 128>{});
    case WindowedAttentionDtype::kBFloat16:
      return d64 ? fn(Instance<__nv_bfloat16, 64>{}) : fn(Instance<__nv_bfloat16, 128>{});
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

// Raises the kernel's dynamic shared-memory limit to `bytes`, then launches it.
template <class Kernel>
std::string launch(Kernel kernel, dim3 grid, int threads, size_t bytes, cudaStream_t stream,
                   const WindowedAttentionParams& p, const char* what) {
  int device = 0, max_bytes = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess)
    err = cudaDeviceGetAttribute(&max_bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (err != cudaSuccess) return std::string(what) + ": " + cudaGetErrorString(err);
  if (bytes > static_cast<size_t>(max_bytes))
    return std::string(what) + " needs " + std::to_string(bytes) +
           " bytes of shared memory per block, the device allows " + std::to_string(max_bytes) +
           " (an sm_80 or newer GPU is needed)";
  err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(bytes));
  if (err != cudaSuccess) return std::string(what) + ": " + cudaGetErrorString(err);
  kernel<<<grid, threads, bytes, stream>>>(p);
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
  return with_prefix(fn, dispatch(p, [&](auto inst) {
    using I = decltype(inst);
    using Cfg = TileConfig<I::kDim>;
    const dim3 grid((p.T + Cfg::kTile - 1) / Cfg::kTile, p.H, p.B);
    return launch(windowed_attention_fwd_kernel<typename I::Elem, I::kDim>, grid, Cfg::kThreads,
                  3 * Cfg::kTileFloats * sizeof(float), stream, p, "forward kernel");
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
  return with_prefix(fn, dispatch(p, [&](auto inst) {
    using I = decltype(inst);
    using E = typename I::Elem;
    using Cfg = TileConfig<I::kDim>;
    const int64_t rows = p.B * p.H * p.T, warps_per_block = Cfg::kWarps;
    windowed_attention_bwd_delta_kernel<E, I::kDim>
        <<<(rows + warps_per_block - 1) / warps_per_block, Cfg::kThreads, 0, stream>>>(p);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess)
      return std::string("delta kernel launch failed: ") + cudaGetErrorString(e);
    const int64_t tiles = (p.T + Cfg::kTile - 1) / Cfg::kTile;
    const size_t bytes = (4 * Cfg::kTileFloats + 3 * Cfg::kTile) * sizeof(float);
    std::string e = launch(windowed_attention_bwd_dkdv_kernel<E, I::kDim>, dim3(tiles, p.K, p.B),
                           Cfg::kThreads, bytes, stream, p, "dK/dV kernel");
    if (!e.empty()) return e;
    return launch(windowed_attention_bwd_dq_kernel<E, I::kDim>, dim3(tiles, p.H, p.B),
                  Cfg::kThreads, bytes, stream, p, "dQ kernel");
  }));
}

}  // namespace attnlab::kernels::cuda
