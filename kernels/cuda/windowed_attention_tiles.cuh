// Which tiles the CUDA windowed attention kernels visit: the window convention of
// attnlab/kernels/window.h (query i sees key j iff i - w <= j <= i; w < 0 means dense causal)
// restated as __host__ __device__ helpers, so a query tile meets only the key tiles it can
// see and a key tile only the query tiles that see it: O(T·w) work with a window.
// Host-testable without a GPU (tests/cuda checks them against window.h by brute force).
#pragma once
#include <cstdint>

namespace attnlab::kernels::cuda {

// [begin, end) tile indices.
struct TileRange {
  int64_t begin;
  int64_t end;
};

// Whether query i may attend to key j under window w (w < 0: dense causal).
__host__ __device__ inline bool window_visible(int64_t i, int64_t j, int64_t w) {
  return j <= i && (w < 0 || j >= i - w);
}

// The key tiles (of tile_keys keys) that queries [q0, q1) see, q0 < q1: from the tile of
// the first key q0 sees to the tile of key q1 - 1. Every tile in the range holds a visible pair.
__host__ __device__ inline TileRange key_tiles_for_queries(int64_t q0, int64_t q1, int64_t w,
                                                           int64_t tile_keys) {
  const int64_t first_key = (w < 0 || q0 - w < 0) ? 0 : q0 - w;
  return {first_key / tile_keys, (q1 - 1) / tile_keys + 1};
}

// The query tiles (of tile_queries rows) that see keys [k0, k1), k0 < k1 <= T: from the tile
// of query k0 to the tile of the last query that sees key k1 - 1.
__host__ __device__ inline TileRange query_tiles_for_keys(int64_t k0, int64_t k1, int64_t T,
                                                          int64_t w, int64_t tile_queries) {
  const int64_t reach = k1 - 1 + w;
  const int64_t last_query = (w < 0 || reach > T - 1) ? T - 1 : reach;
  return {k0 / tile_queries, last_query / tile_queries + 1};
}

}  // namespace attnlab::kernels::cuda
