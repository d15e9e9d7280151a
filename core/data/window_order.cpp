// The per-epoch permutation of training windows; see window_order.h.
#include "window_order.h"

#include <numeric>
#include <utility>

#include "splitmix64.h"

namespace attnlab::data {

std::vector<uint32_t> window_order(uint64_t n_windows, uint64_t order_seed, uint64_t epoch) {
  std::vector<uint32_t> perm(n_windows);
  std::iota(perm.begin(), perm.end(), uint32_t{0});
  SplitMix64 rng{order_seed * 0x9E3779B97F4A7C15ull ^ (epoch + 1) * 0xD1B54A32D192ED03ull};
  for (uint64_t n = n_windows; n > 1; --n) std::swap(perm[n - 1], perm[rng.below(n)]);
  return perm;
}

}  // namespace attnlab::data
