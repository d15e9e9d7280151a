// Warp-level tensor-core products for the CUDA attention kernels: ldmatrix and
// mma.sync.aligned.m16n8k16 (fp16 or bf16 inputs, fp32 accumulators) as inline PTX, sm_80 and
// newer (sm_90 runs them too; wgmma is not used). Register layouts: mma_fragments.cuh, whose
// host test (tests/cuda/test_mma_fragments.cu) replays the two loops below on emulated lanes.
//
// Shared-memory tiles are row-major 16-bit with a padded row of kStride elements (a multiple of
// 8, so every ldmatrix row address is 16-byte aligned).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "mma_fragments.cuh"

namespace attnlab::kernels::cuda::mma {

// The shared-memory address of a pointer into shared memory.
__device__ inline uint32_t smem_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// ldmatrix.x4 (.trans when Trans) with this lane's row address `row` (see ldsm_rows_first).
// Volatile: it reads shared memory that the block rewrites between barriers.
template <bool Trans>
__device__ inline void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
#if __CUDA_ARCH__ >= 800
  if constexpr (Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_address(row)));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_address(row)));
#else
  (void)r, (void)row;
  __trap();  // the launchers refuse devices below sm_80
#endif
}

// d += a · (b0, b1): one m16n8k16 product with fp32 accumulators; E is __half or __nv_bfloat16.
template <class E>
__device__ inline void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if __CUDA_ARCH__ >= 800
  if constexpr (std::is_same_v<E, __half>)
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  (void)d, (void)a, (void)b0, (void)b1;
  __trap();
#endif
}

// Two fp32 values rounded to E and packed into one register, `lo` in the low half.
template <class E>
__device__ inline uint32_t pack2(float lo, float hi) {
  uint32_t r;
  if constexpr (std::is_same_v<E, __half>) {
    const __half2 v = __floats2half2_rn(lo, hi);
    std::memcpy(&r, &v, sizeof r);
  } else {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    std::memcpy(&r, &v, sizeof r);
  }
  return r;
}

// acc[n / 8] += A · Bᵀ for one warp: A = the 16 rows at a_tile, B = the N rows at b_tile, both
// row-major over kDepth columns (Q·Kᵀ, dO·Vᵀ, K·Qᵀ, V·dOᵀ).
template <class E, int N, int kDepth, int kStride>
__device__ inline void mma_a_bt(float (&acc)[N / 8][4], const E* a_tile, const E* b_tile,
                                int lane) {
  static_assert(N % 16 == 0 && kDepth % 16 == 0, "whole 16 × 16 blocks");
  const Coord a_src = ldsm_rows_first(lane), b_src = ldsm_cols_first(lane);
#pragma unroll
  for (int k = 0; k < kDepth; k += 16) {
    uint32_t a[4];
    ldmatrix_x4<false>(a, a_tile + ldsm_offset(a_src, 0, k, kStride));
#pragma unroll
    for (int n = 0; n < N; n += 16) {
      uint32_t b[4];
      ldmatrix_x4<false>(b, b_tile + ldsm_offset(b_src, n, k, kStride));
      mma_16816<E>(acc[n / 8], a, b[0], b[1]);
      mma_16816<E>(acc[n / 8 + 1], a, b[2], b[3]);
    }
  }
}

// The 16 × kDepth accumulators c as A fragments (rounded to E), one per k-step of 16.
template <class E, int kDepth>
__device__ inline void accumulators_as_a(const float (&c)[kDepth / 8][4],
                                         uint32_t (&a)[kDepth / 16][4]) {
#pragma unroll
  for (int s = 0; s < kDepth / 16; ++s) {
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const float* src = c[2 * s + c_block_for_a(r)] + c_elem_for_a(r);
      a[s][r] = pack2<E>(src[0], src[1]);
    }
  }
}

// acc[n / 8] += P · B for one warp: P (16 × kDepth) as A fragments, B = the kDepth rows at
// b_tile, row-major over N columns (P·V, dS·K, Pᵀ·dO, dSᵀ·Q).
template <class E, int N, int kDepth, int kStride>
__device__ inline void mma_p_b(float (&acc)[N / 8][4], const uint32_t (&p)[kDepth / 16][4],
                               const E* b_tile, int lane) {
  static_assert(N % 16 == 0 && kDepth % 16 == 0, "whole 16 × 16 blocks");
  const Coord src = ldsm_rows_first(lane);
#pragma unroll
  for (int s = 0; s < kDepth / 16; ++s) {
#pragma unroll
    for (int n = 0; n < N; n += 16) {
      uint32_t b[4];
      ldmatrix_x4<true>(b, b_tile + ldsm_offset(src, 16 * s, n, kStride));
      mma_16816<E>(acc[n / 8], p[s], b[0], b[1]);
      mma_16816<E>(acc[n / 8 + 1], p[s], b[2], b[3]);
    }
  }
}

// Max and sum over the 4 lanes of a quad, which share C rows (mma_fragments.cuh).
__device__ inline float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ inline float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

}  // namespace attnlab::kernels::cuda::mma
