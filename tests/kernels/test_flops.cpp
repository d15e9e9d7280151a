// FLOPs accounting: 2 FLOPs per multiply-add, only visible pairs, backward = 2.5x forward.
#include <catch2/catch.hpp>

#include "attnlab/kernels/flops.h"
#include "attnlab/kernels/window.h"

using namespace attnlab::kernels;

TEST_CASE("attention FLOPs count only in-window work", "[flops]") {
  // Dense, T = 1024, 12 heads x 64: pairs = 1024*1025/2, two matmuls of 2*D FLOPs per pair.
  const auto dense = attention_flops(1024, kDenseWindow, 12, 64);
  CHECK(dense.forward == Approx(4.0 * 64 * 12 * (1024.0 * 1025.0 / 2.0)).epsilon(1e-12));
  CHECK(dense.backward == Approx(2.5 * dense.forward).epsilon(1e-12));
  // Window 256 at T = 8192: 257 keys for every row from 256 on.
  const double pairs = 257.0 * 258.0 / 2.0 + (8192.0 - 257.0) * 257.0;
  const auto windowed = attention_flops(8192, 256, 12, 64);
  CHECK(windowed.forward == Approx(4.0 * 64 * 12 * pairs).epsilon(1e-12));
  CHECK(windowed.forward < attention_flops(8192, kDenseWindow, 12, 64).forward / 10);
  // A window at least T - 1 wide is dense.
  CHECK(attention_flops(100, 99, 2, 8).forward == attention_flops(100, kDenseWindow, 2, 8).forward);
}

TEST_CASE("head gate FLOPs", "[flops]") {
  const auto gate = head_gate_flops(10, 32, 4, 8);
  CHECK(gate.forward == 2.0 * 10 * 32 * 4 + 10 * 4 * 8);
  CHECK(gate.backward == 4.0 * 10 * 32 * 4 + 2.0 * 10 * 4 * 8);
}
