// splitmix64 (Steele, Lea, Flood 2014; Vigna's reference code) with a uniform draw below n by
// rejection: a generator fully specified here, so a seed gives the same numbers with any
// compiler and standard library (std:: distributions are implementation-defined). Used by the
// window order (window_order.h) and the synthetic data generators (mqar.h, passkey.h).
#pragma once
#include <cstdint>

namespace attnlab::data {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) {  // uniform in [0, n), n > 0: with m = 2^64 - 1, draw x until
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // x < m - m mod n; then x mod n
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
};

}  // namespace attnlab::data
