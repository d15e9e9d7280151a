// Register layouts of the warp-wide tensor-core product mma.sync.aligned.m16n8k16 (fp16/bf16
// inputs, fp32 accumulators) and of the ldmatrix.x4 loads that feed it, as constexpr
// __host__ __device__ functions, after the PTX ISA ("Matrix Fragments for mma.m16n8k16 with
// floating point type", "ldmatrix"). The kernels index registers with them; the host test
// tests/cuda/test_mma_fragments.cu replays the products on 32 emulated lanes to check them.
//
// One mma computes D[16][8] = A[16][16] · B[16][8] + C[16][8] across a warp. Per lane: A is 8
// 16-bit elements in 4 registers, B 4 elements in 2 registers (element e in register e / 2,
// the even e in the low half), C and D 4 fp32 values.
#pragma once

namespace attnlab::kernels::cuda::mma {

// A (row, col) position inside a fragment's matrix, or an offset inside a 16 × 16 block.
struct Coord {
  int row;
  int col;
};

constexpr int kLanes = 32;
constexpr int kAElems = 8;  // per lane
constexpr int kBElems = 4;
constexpr int kCElems = 4;

// A[row = m][col = k] held by element e of lane's A fragment.
__host__ __device__ constexpr Coord a_element(int lane, int e) {
  return {lane / 4 + 8 * (e / 2 % 2), 2 * (lane % 4) + e % 2 + 8 * (e / 4)};
}

// B[row = k][col = n] held by element e of lane's B fragment.
__host__ __device__ constexpr Coord b_element(int lane, int e) {
  return {2 * (lane % 4) + e % 2 + 8 * (e / 2), lane / 4};
}

// C[row = m][col = n] held by element e of lane's C (or D) fragment. Elements e and e ^ 1 share
// a row; the 4 lanes of a quad (lane / 4 equal, so lanes l ^ 1 and l ^ 2) share both rows.
__host__ __device__ constexpr Coord c_element(int lane, int e) {
  return {lane / 4 + 8 * (e / 2), 2 * (lane % 4) + e % 2};
}

// Which of its two rows (lane / 4, lane / 4 + 8) C element e lies in.
__host__ __device__ constexpr int c_row_slot(int e) { return e / 2; }

// ldmatrix.x4 loads four 8 × 8 matrices of 16-bit elements from shared memory: lane l gives the
// address of row l % 8 of matrix l / 8, and register m of lane l receives matrix m's row l / 4,
// columns 2(l % 4) and 2(l % 4) + 1 (with .trans: rows 2(l % 4) and 2(l % 4) + 1 of column
// l / 4). These say which row of a 16 × 16 block (and which 8-column half) lane l points at.
//
// Matrices in the order (rows 0-7, cols 0-7), (8-15, 0-7), (0-7, 8-15), (8-15, 8-15): the A
// fragment of a row-major [m][k] block; with .trans, the B fragments of a row-major [k][n]
// block, n 0-7 in registers 0-1 and n 8-15 in registers 2-3.
__host__ __device__ constexpr Coord ldsm_rows_first(int lane) {
  return {lane % 8 + 8 * (lane / 8 % 2), 8 * (lane / 16)};
}

// Matrices in the order (0-7, 0-7), (0-7, 8-15), (8-15, 0-7), (8-15, 8-15): the B fragments of
// a row-major [n][k] block (B = the block transposed), n 0-7 in registers 0-1, n 8-15 in 2-3.
__host__ __device__ constexpr Coord ldsm_cols_first(int lane) {
  return {lane % 8 + 8 * (lane / 16), 8 * (lane / 8 % 2)};
}

// Element offset of the row lane l points at, for the 16 × 16 block at (row0, col0) of a
// row-major tile with `stride` elements per row.
__host__ __device__ constexpr int ldsm_offset(Coord lane_src, int row0, int col0, int stride) {
  return (row0 + lane_src.row) * stride + col0 + lane_src.col;
}

// An accumulator tile reused as an A operand (P·V after S = Q·Kᵀ): register r of the A
// fragment for k-step s (k = 16s .. 16s + 15) packs C elements c_elem_for_a(r) and
// c_elem_for_a(r) + 1 of the C fragment of n-block 2s + c_block_for_a(r).
__host__ __device__ constexpr int c_block_for_a(int r) { return r / 2; }
__host__ __device__ constexpr int c_elem_for_a(int r) { return 2 * (r % 2); }

}  // namespace attnlab::kernels::cuda::mma
