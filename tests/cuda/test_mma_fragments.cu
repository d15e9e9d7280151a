// Host test of the tensor-core fragment layouts in kernels/cuda/mma_fragments.cuh: no GPU, no
// Catch2. A warp is emulated as 32 lanes of registers; ldmatrix and mma.m16n8k16 are modelled
// from the PTX ISA's own wording (restated below, independently of the header), and products
// assembled with the header's functions, in the loop order the kernels use, must equal naive
// matrix products on random integers (exact in fp32, so the comparison is exact):
//   1. the header's A / B / C layouts equal the PTX tables and cover each matrix once;
//   2. one 16×8×16 mma with fragments distributed and gathered by the header's functions;
//   3. ldmatrix.x4 (plain and .trans) addressed by the header's functions yields the fragments;
//   4. full warp tiles: S = Q·Kᵀ (16 rows × N keys, depth D), then O = S·V with S's
//      accumulators reused as A fragments, for the kernels' tile shapes.
// Exit code: 0 pass, 1 failure. Usage: test_mma_fragments [--seed N]
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mma_fragments.cuh"

namespace {

namespace mma = attnlab::kernels::cuda::mma;
using mma::Coord;

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok && ++failures <= 20) std::fprintf(stderr, "FAIL: %s\n", what.c_str());
}

// ---- The PTX ISA's tables, worded as there (groupID = laneid >> 2, threadID_in_group =
// laneid % 4), for .f16/.bf16 m16n8k16. ----

Coord ptx_a(int lane, int i) {
  const int group = lane >> 2, tig = lane % 4;
  const int row = (i < 2 || (i >= 4 && i < 6)) ? group : group + 8;
  const int col = i < 4 ? tig * 2 + (i & 1) : tig * 2 + (i & 1) + 8;
  return {row, col};
}

Coord ptx_b(int lane, int i) {
  const int group = lane >> 2, tig = lane % 4;
  return {i < 2 ? tig * 2 + (i & 1) : tig * 2 + (i & 1) + 8, group};
}

Coord ptx_c(int lane, int i) {
  const int group = lane >> 2, tig = lane % 4;
  return {i < 2 ? group : group + 8, tig * 2 + (i & 1)};
}

// ---- An emulated warp: a 32-bit register of two 16-bit values is a pair {low, high}. ----

using Reg = std::array<float, 2>;
using Frag4 = std::array<std::array<Reg, 4>, mma::kLanes>;  // 4 registers per lane
using Acc = std::array<std::array<float, 4>, mma::kLanes>;  // one C fragment

// mma.m16n8k16: d += A · B, A from a[lane][0..3], B from b[lane][b_reg0], b[lane][b_reg0 + 1].
void emulate_mma(Acc& d, const Frag4& a, const Frag4& b, int b_reg0) {
  float A[16][16], B[16][8], D[16][8];
  for (int lane = 0; lane < mma::kLanes; ++lane) {
    for (int i = 0; i < 8; ++i) A[ptx_a(lane, i).row][ptx_a(lane, i).col] = a[lane][i / 2][i % 2];
    for (int i = 0; i < 4; ++i)
      B[ptx_b(lane, i).row][ptx_b(lane, i).col] = b[lane][b_reg0 + i / 2][i % 2];
    for (int i = 0; i < 4; ++i) D[ptx_c(lane, i).row][ptx_c(lane, i).col] = d[lane][i];
  }
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n)
      for (int k = 0; k < 16; ++k) D[m][n] += A[m][k] * B[k][n];
  for (int lane = 0; lane < mma::kLanes; ++lane)
    for (int i = 0; i < 4; ++i) d[lane][i] = D[ptx_c(lane, i).row][ptx_c(lane, i).col];
}

// ldmatrix.x4 (.trans if trans) from `smem`, lane l giving the element offset offset[l] of row
// l % 8 of matrix l / 8. Plain: register m of lane l = matrix m's row l / 4, columns 2(l % 4),
// +1. Trans: matrix m's rows 2(l % 4) and 2(l % 4) + 1 at column l / 4.
Frag4 emulate_ldmatrix_x4(const std::vector<float>& smem, const int (&offset)[32], bool trans) {
  Frag4 out{};
  for (int lane = 0; lane < mma::kLanes; ++lane) {
    for (int m = 0; m < 4; ++m) {
      const int t = lane % 4, g = lane / 4;
      out[lane][m] =
          trans ? Reg{smem[offset[8 * m + 2 * t] + g], smem[offset[8 * m + 2 * t + 1] + g]}
                : Reg{smem[offset[8 * m + g] + 2 * t], smem[offset[8 * m + g] + 2 * t + 1]};
    }
  }
  return out;
}

// The ldmatrix.x4 of the 16 × 16 block at (row0, col0) of a row-major tile, addressed as the
// kernels address it.
Frag4 load_block(const std::vector<float>& tile, int stride, int row0, int col0, bool cols_first,
                 bool trans) {
  int offset[32];
  for (int lane = 0; lane < mma::kLanes; ++lane)
    offset[lane] = mma::ldsm_offset(
        cols_first ? mma::ldsm_cols_first(lane) : mma::ldsm_rows_first(lane), row0, col0, stride);
  return emulate_ldmatrix_x4(tile, offset, trans);
}

std::mt19937 rng;

// A rows × cols row-major tile with `stride` elements per row (padding -99), random integers
// in [-3, 3].
std::vector<float> random_tile(int rows, int cols, int stride) {
  std::uniform_int_distribution<int> dist(-3, 3);
  std::vector<float> t(rows * stride, -99.0f);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) t[r * stride + c] = static_cast<float>(dist(rng));
  return t;
}

// ---- 1. Layouts against the PTX tables; each covers its matrix exactly once. ----

void check_layouts() {
  int a_seen[16][16] = {}, b_seen[16][8] = {}, c_seen[16][8] = {};
  for (int lane = 0; lane < mma::kLanes; ++lane) {
    const std::string at = " at lane " + std::to_string(lane);
    for (int e = 0; e < mma::kAElems; ++e) {
      const Coord h = mma::a_element(lane, e), p = ptx_a(lane, e);
      expect(h.row == p.row && h.col == p.col, "a_element e " + std::to_string(e) + at);
      ++a_seen[h.row][h.col];
    }
    for (int e = 0; e < mma::kBElems; ++e) {
      const Coord h = mma::b_element(lane, e), p = ptx_b(lane, e);
      expect(h.row == p.row && h.col == p.col, "b_element e " + std::to_string(e) + at);
      ++b_seen[h.row][h.col];
    }
    for (int e = 0; e < mma::kCElems; ++e) {
      const Coord h = mma::c_element(lane, e), p = ptx_c(lane, e);
      expect(h.row == p.row && h.col == p.col, "c_element e " + std::to_string(e) + at);
      expect(h.row == lane / 4 + 8 * mma::c_row_slot(e), "c_row_slot e " + std::to_string(e) + at);
      for (int quad_mate : {lane ^ 1, lane ^ 2})
        expect(mma::c_element(quad_mate, e).row == h.row, "quad mate row" + at);
      ++c_seen[h.row][h.col];
    }
  }
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      expect(a_seen[r][c] == 1, "A cell held once");
      if (c < 8) expect(b_seen[r][c] == 1 && c_seen[r][c] == 1, "B and C cells held once");
    }
}

// ---- 2. One mma, fragments distributed and gathered with the header's functions. ----

void check_single_mma() {
  const std::vector<float> A = random_tile(16, 16, 16), B = random_tile(16, 8, 8),
                           C = random_tile(16, 8, 8);
  Frag4 a{}, b{};
  Acc d{};
  for (int lane = 0; lane < mma::kLanes; ++lane) {
    for (int e = 0; e < mma::kAElems; ++e)
      a[lane][e / 2][e % 2] = A[mma::a_element(lane, e).row * 16 + mma::a_element(lane, e).col];
    for (int e = 0; e < mma::kBElems; ++e)
      b[lane][e / 2][e % 2] = B[mma::b_element(lane, e).row * 8 + mma::b_element(lane, e).col];
    for (int e = 0; e < mma::kCElems; ++e)
      d[lane][e] = C[mma::c_element(lane, e).row * 8 + mma::c_element(lane, e).col];
  }
  emulate_mma(d, a, b, 0);
  for (int lane = 0; lane < mma::kLanes; ++lane) {
    for (int e = 0; e < mma::kCElems; ++e) {
      const Coord c = mma::c_element(lane, e);
      float want = C[c.row * 8 + c.col];
      for (int k = 0; k < 16; ++k) want += A[c.row * 16 + k] * B[k * 8 + c.col];
      expect(d[lane][e] == want,
             "16x8x16 product at (" + std::to_string(c.row) + ", " + std::to_string(c.col) + ")");
    }
  }
}

// ---- 3. ldmatrix.x4 addressed by the header yields the A / B fragments. ----

void check_ldmatrix() {
  const int stride = 24;  // a padded row, as in the kernels
  const std::vector<float> t = random_tile(32, 16, stride);
  const Frag4 a = load_block(t, stride, 16, 0, false, false);  // A = block, [m][k]
  const Frag4 bt = load_block(t, stride, 16, 0, true, false);  // B = blockᵀ, block is [n][k]
  const Frag4 bk = load_block(t, stride, 16, 0, false, true);  // B = block, block is [k][n]
  const auto at = [&](int r, int c) { return t[(16 + r) * stride + c]; };
  for (int lane = 0; lane < mma::kLanes; ++lane) {
    for (int e = 0; e < mma::kAElems; ++e) {
      const Coord c = mma::a_element(lane, e);
      expect(a[lane][e / 2][e % 2] == at(c.row, c.col), "ldmatrix A fragment");
    }
    for (int half = 0; half < 2; ++half) {  // n 0-7 in registers 0-1, n 8-15 in 2-3
      for (int e = 0; e < mma::kBElems; ++e) {
        const Coord c = mma::b_element(lane, e);
        const int n = c.col + 8 * half, reg = 2 * half + e / 2;
        expect(bt[lane][reg][e % 2] == at(n, c.row), "ldmatrix B fragment of an [n][k] block");
        expect(bk[lane][reg][e % 2] == at(c.row, n), "ldmatrix.trans B fragment of a [k][n] block");
      }
    }
  }
}

// ---- 4. Full warp tiles, looping as the kernels do (mma_sm80.cuh). ----

// acc[n / 8] += A · Bᵀ: A = 16 rows of a_tile, B = n_cols rows of b_tile ([n][k]), depth k.
void tile_a_bt(std::vector<Acc>& acc, const std::vector<float>& a_tile,
               const std::vector<float>& b_tile, int stride, int n_cols, int depth) {
  for (int k = 0; k < depth; k += 16) {
    const Frag4 a = load_block(a_tile, stride, 0, k, false, false);
    for (int n = 0; n < n_cols; n += 16) {
      const Frag4 b = load_block(b_tile, stride, n, k, true, false);
      emulate_mma(acc[n / 8], a, b, 0);
      emulate_mma(acc[n / 8 + 1], a, b, 2);
    }
  }
}

// The accumulators of a 16 × depth product as A fragments, one per k-step of 16.
std::vector<Frag4> accumulators_as_a(const std::vector<Acc>& c) {
  std::vector<Frag4> a(c.size() / 2);
  for (size_t s = 0; s < a.size(); ++s)
    for (int lane = 0; lane < mma::kLanes; ++lane)
      for (int r = 0; r < 4; ++r) {
        const auto& src = c[2 * s + mma::c_block_for_a(r)][lane];
        a[s][lane][r] = {src[mma::c_elem_for_a(r)], src[mma::c_elem_for_a(r) + 1]};
      }
  return a;
}

// acc[n / 8] += P · B: P as A fragments (depth 16 · p.size()), B = b_tile ([k][n]), n_cols wide.
void tile_p_b(std::vector<Acc>& acc, const std::vector<Frag4>& p, const std::vector<float>& b_tile,
              int stride, int n_cols) {
  for (size_t s = 0; s < p.size(); ++s) {
    for (int n = 0; n < n_cols; n += 16) {
      const Frag4 b = load_block(b_tile, stride, 16 * static_cast<int>(s), n, false, true);
      emulate_mma(acc[n / 8], p[s], b, 0);
      emulate_mma(acc[n / 8 + 1], p[s], b, 2);
    }
  }
}

// Compares 16 × n_cols accumulators with want[row * n_cols + col].
void expect_tile(const std::vector<Acc>& acc, const std::vector<float>& want, int n_cols,
                 const std::string& what) {
  int bad = 0;
  for (int nb = 0; nb < n_cols / 8; ++nb)
    for (int lane = 0; lane < mma::kLanes; ++lane)
      for (int e = 0; e < mma::kCElems; ++e) {
        const Coord c = mma::c_element(lane, e);
        bad += acc[nb][lane][e] != want[c.row * n_cols + nb * 8 + c.col];
      }
  expect(bad == 0, what + ": " + std::to_string(bad) + " wrong elements");
}

// S = Q·Kᵀ (16 × keys, depth dim) and O = S·V (16 × dim, depth keys) for one warp.
void check_full_tile(int keys, int dim) {
  const int stride = dim + 8;
  const std::vector<float> q = random_tile(16, dim, stride), k = random_tile(keys, dim, stride),
                           v = random_tile(keys, dim, stride);
  std::vector<Acc> s(keys / 8, Acc{}), o(dim / 8, Acc{});
  tile_a_bt(s, q, k, stride, keys, dim);
  tile_p_b(o, accumulators_as_a(s), v, stride, dim);

  std::vector<float> s_ref(16 * keys, 0.0f), o_ref(16 * dim, 0.0f);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < keys; ++j)
      for (int d = 0; d < dim; ++d) s_ref[i * keys + j] += q[i * stride + d] * k[j * stride + d];
  for (int i = 0; i < 16; ++i)
    for (int d = 0; d < dim; ++d)
      for (int j = 0; j < keys; ++j) o_ref[i * dim + d] += s_ref[i * keys + j] * v[j * stride + d];
  const std::string shape = " (" + std::to_string(keys) + " keys, dim " + std::to_string(dim) + ")";
  expect_tile(s, s_ref, keys, "S = Q·Kᵀ" + shape);
  expect_tile(o, o_ref, dim, "O = S·V" + shape);
}

}  // namespace

int main(int argc, char** argv) {
  unsigned seed = 1;
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
      seed = static_cast<unsigned>(std::strtoul(argv[++a], nullptr, 10));
    } else {
      std::fprintf(stderr, "unknown argument '%s'; usage: %s [--seed N]\n", argv[a], argv[0]);
      return 1;
    }
  }
  rng.seed(seed);
  check_layouts();
  for (int rep = 0; rep < 20; ++rep) check_single_mma();
  check_ldmatrix();
  // The kernels' shapes: 64 keys × head dim 64 / 128 (forward, dQ), 32 query rows × 128 (dK/dV).
  for (const auto& [keys, dim] : {std::array<int, 2>{64, 64}, {64, 128}, {32, 128}, {16, 16}})
    check_full_tile(keys, dim);
  if (failures) {
    std::fprintf(stderr, "%d check(s) failed (seed %u)\n", failures, seed);
    return 1;
  }
  std::printf("mma fragment layouts: all checks passed (seed %u)\n", seed);
  return 0;
}
