// The head threshold gate (head_threshold.h) against naive fp64 loops written here: the
// block-causal pooling, the score, the straight-through / soft mask, attention over the
// active rows only, and the FLOPs count.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "attnlab/kernels/head_threshold.h"
#include "naive_attention.h"

using namespace attnlab::kernels;
using attnlab::test::max_abs_diff;
using attnlab::test::naive_attention;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

// pool[b,n,t,:] = mean of x[b,n,s,:] for s in [floor(t/L)·L, t], one position at a time.
torch::Tensor naive_pool(const torch::Tensor& x, int64_t L) {
  auto pool = torch::zeros_like(x);
  auto xa = x.accessor<double, 4>();
  auto pa = pool.accessor<double, 4>();
  for (int64_t b = 0; b < x.size(0); ++b)
    for (int64_t n = 0; n < x.size(1); ++n)
      for (int64_t t = 0; t < x.size(2); ++t)
        for (int64_t d = 0; d < x.size(3); ++d) {
          const int64_t start = t / L * L;
          double sum = 0;
          for (int64_t s = start; s <= t; ++s) sum += xa[b][n][s][d];
          pa[b][n][t][d] = sum / static_cast<double>(t - start + 1);
        }
  return pool;
}

// s[b,t,h] = σ(Σ_d w[h,d] pool_q[b,h,t,d] + Σ_d w[h,D+d] pool_k[b,h/G,t,d] + bias[h]).
torch::Tensor naive_score(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& w,
                          const torch::Tensor& bias, int64_t L) {
  const auto pq = naive_pool(q, L), pk = naive_pool(k, L);
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t G = H / k.size(1);
  auto s = torch::zeros({B, T, H}, kF64);
  auto qa = pq.accessor<double, 4>();
  auto ka = pk.accessor<double, 4>();
  auto wa = w.accessor<double, 2>();
  auto sa = s.accessor<double, 3>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        double z = bias[h].item<double>();
        for (int64_t d = 0; d < D; ++d)
          z += wa[h][d] * qa[b][h][t][d] + wa[h][D + d] * ka[b][h / G][t][d];
        sa[b][t][h] = 1.0 / (1.0 + std::exp(-z));
      }
  return s;
}

}  // namespace

TEST_CASE("block_prefix_mean is the causal mean inside each block", "[head_threshold]") {
  const auto x = torch::randn({2, 3, 13, 5}, kF64);
  for (int64_t L : {1, 4, 13, 64}) {
    INFO("block " << L);
    CHECK(max_abs_diff(block_prefix_mean(x, L), naive_pool(x, L)) < 1e-12);
  }
  CHECK(max_abs_diff(block_prefix_mean(x, 1), x) == 0);
  CHECK_THROWS_WITH(block_prefix_mean(x, 0), Catch::Contains("block must be >= 1"));
}

TEST_CASE("head threshold score from pooled q and k (GQA)", "[head_threshold]") {
  const auto q = torch::randn({2, 4, 11, 6}, kF64), k = torch::randn({2, 2, 11, 6}, kF64);
  const auto w = torch::randn({4, 12}, kF64), b = torch::randn({4}, kF64);
  const auto s = head_threshold_score(q, k, w, b, 4);
  CHECK(s.sizes() == torch::IntArrayRef({2, 11, 4}));
  CHECK(max_abs_diff(s, naive_score(q, k, w, b, 4)) < 1e-12);
  CHECK_THROWS_WITH(head_threshold_score(q, k, torch::randn({4, 6}, kF64), b, 4),
                    Catch::Contains("weight_H2D must be [H, 2D]"));
}

TEST_CASE("head threshold mask: straight-through, soft, inference", "[head_threshold]") {
  const auto s = torch::rand({2, 9, 4}, kF64).requires_grad_();
  const auto hard = (s.detach() >= 0.4).to(torch::kDouble);
  REQUIRE(hard.sum().item<double>() > 0);
  REQUIRE(hard.sum().item<double>() < hard.numel());
  const auto dm = torch::randn({2, 9, 4}, kF64);
  const auto st = head_threshold_mask(s, 0.4, HeadThresholdMode::kStraightThrough, true);
  CHECK(max_abs_diff(st, hard) < 1e-15);
  CHECK(max_abs_diff(torch::autograd::grad({(st * dm).sum()}, {s})[0], dm) == 0);  // as if m = s
  const auto soft = head_threshold_mask(s, 0.4, HeadThresholdMode::kSoft, true);
  CHECK(max_abs_diff(soft, s) == 0);
  CHECK(max_abs_diff(head_threshold_mask(s, 0.4, HeadThresholdMode::kStraightThrough, false),
                     hard) == 0);
  CHECK(max_abs_diff(head_threshold_mask(s, 0.4, HeadThresholdMode::kSoft, false), s * hard) == 0);
}

TEST_CASE("active rows attention equals the hard-masked dense attention", "[head_threshold]") {
  const int64_t B = 2, H = 4, K = 2, T = 19, D = 8;
  const auto q = torch::randn({B, H, T, D}, kF64), k = torch::randn({B, K, T, D}, kF64);
  const auto v = torch::randn({B, K, T, D}, kF64);
  auto active = torch::rand({B, T, H}, kF64) < 0.5;
  active.select(2, 1).select(0, 0).fill_(false);  // one head with no active row at all
  const auto hard = active.to(torch::kDouble);
  const auto expected = naive_attention(q, k, v, -1, hard);
  for (int64_t block_size : {1, 3, 64}) {
    INFO("block_size " << block_size);
    const auto y = active_rows_attention(q, k, v, active, block_size);
    CHECK(max_abs_diff(y, expected) < 1e-12);
    const auto off = active.logical_not().permute({0, 2, 1}).unsqueeze(-1).expand_as(y);
    CHECK(y.masked_select(off).abs().max().item<double>() == 0);  // exactly 0, not computed
  }
}

TEST_CASE("head threshold FLOPs: dense attention times the active fraction plus the gate",
          "[head_threshold]") {
  const int64_t T = 100, H = 8, K = 2, D = 16;
  const double pairs = T * (T + 1) / 2.0, t = T;
  const double gate_fwd = 2.0 * t * (H + K) * D + 4.0 * t * H * D + t * H * D;
  const double gate_bwd = 2.0 * t * (H + K) * D + 8.0 * t * H * D + 2.0 * t * H * D;
  const auto full = head_threshold_flops(T, H, K, D, 1.0);
  CHECK(full.forward == Approx(4.0 * D * H * pairs + gate_fwd).epsilon(1e-12));
  CHECK(full.backward == Approx(10.0 * D * H * pairs + gate_bwd).epsilon(1e-12));
  const auto quarter = head_threshold_flops(T, H, K, D, 0.25);
  CHECK(quarter.forward == Approx(D * H * pairs + gate_fwd).epsilon(1e-12));
}
