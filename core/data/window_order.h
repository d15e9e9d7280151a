// The order in which TokenLoader reads the training windows of an epoch: a permutation drawn
// from (order_seed, epoch) with splitmix64 and Fisher–Yates, both fully specified here, so an
// order seed gives the same batches with any compiler and standard library (std::shuffle and
// std:: distributions are implementation-defined).
#pragma once
#include <cstdint>
#include <vector>

namespace attnlab::data {

// The largest window count a permutation holds (indices are stored as uint32: 4 bytes a window,
// 40 MB for the 10M windows of 10B tokens at T = 1024).
inline constexpr uint64_t kMaxWindows = UINT32_MAX;

// A permutation of 0 .. n_windows-1 (n_windows <= kMaxWindows). The generator starts at
//   state = order_seed * 0x9E3779B97F4A7C15 ^ (epoch + 1) * 0xD1B54A32D192ED03   (mod 2^64)
// and Fisher–Yates runs i = n-1 down to 1 from the identity, swapping perm[i] with perm[j], j
// uniform in [0, i] by rejection: with m = 2^64 - 1, draw x = splitmix64() until
// x < m - m mod (i+1); then j = x mod (i+1).
std::vector<uint32_t> window_order(uint64_t n_windows, uint64_t order_seed, uint64_t epoch);

}  // namespace attnlab::data
