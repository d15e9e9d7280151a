// The per-epoch permutation of training windows; see window_order.h.
#include "window_order.h"

#include <numeric>
#include <utility>

namespace attnlab::data {

namespace {

// splitmix64 (Steele, Lea, Flood 2014; Vigna's reference code).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) {  // uniform in [0, n), by rejection
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
};

}  // namespace

std::vector<uint32_t> window_order(uint64_t n_windows, uint64_t order_seed, uint64_t epoch) {
  std::vector<uint32_t> perm(n_windows);
  std::iota(perm.begin(), perm.end(), uint32_t{0});
  SplitMix64 rng{order_seed * 0x9E3779B97F4A7C15ull ^ (epoch + 1) * 0xD1B54A32D192ED03ull};
  for (uint64_t n = n_windows; n > 1; --n) std::swap(perm[n - 1], perm[rng.below(n)]);
  return perm;
}

}  // namespace attnlab::data
