// Dynamic mask attention (dynamic_mask.h) against naive fp64 loops written here: Δ, the top-k
// selection (a sliding window while all Δ are equal), the attention and its gradients,
// decoding with S > T, and the FLOPs count.
#include <torch/torch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <vector>

#include "attnlab/kernels/dynamic_mask.h"
#include "naive_attention.h"

using namespace attnlab::kernels;
using attnlab::test::max_abs_diff;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

// Δ[b,κ,j] = exp(A_κ · log(1 + exp(Σ_d v[b,κ,j,d] W[κ,d]))), one element at a time.
torch::Tensor naive_delta(const torch::Tensor& v, const torch::Tensor& w, const torch::Tensor& a) {
  auto delta = torch::zeros({v.size(0), v.size(1), v.size(2)}, kF64);
  auto va = v.accessor<double, 4>();
  auto wa = w.accessor<double, 2>();
  auto aa = a.accessor<double, 1>();
  auto out = delta.accessor<double, 3>();
  for (int64_t b = 0; b < v.size(0); ++b) {
    for (int64_t k = 0; k < v.size(1); ++k) {
      for (int64_t j = 0; j < v.size(2); ++j) {
        double dot = 0;
        for (int64_t d = 0; d < v.size(3); ++d) dot += va[b][k][j][d] * wa[k][d];
        out[b][k][j] = std::exp(aa[k] * std::log1p(std::exp(dot)));
      }
    }
  }
  return delta;
}

// kept[b,κ,i,j]: key j is among the `keep` best of keys 0..S-T+i by (Δ desc, j desc).
torch::Tensor naive_kept(const torch::Tensor& delta, int64_t T, int64_t keep) {
  const int64_t B = delta.size(0), K = delta.size(1), S = delta.size(2);
  auto kept = torch::zeros({B, K, T, S}, torch::kBool);
  auto da = delta.accessor<double, 3>();
  auto ka = kept.accessor<bool, 4>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t i = 0; i < T; ++i) {
        std::vector<int64_t> keys(S - T + i + 1);
        for (size_t j = 0; j < keys.size(); ++j) keys[j] = static_cast<int64_t>(j);
        std::sort(keys.begin(), keys.end(), [&](int64_t x, int64_t y) {
          return da[b][k][x] > da[b][k][y] || (da[b][k][x] == da[b][k][y] && x > y);
        });
        for (size_t n = 0; n < keys.size() && static_cast<int64_t>(n) < keep; ++n)
          ka[b][k][i][keys[n]] = true;
      }
    }
  }
  return kept;
}

// softmax over kept keys of q·k/√D + Δ, times v, with the full [B, H, T, S] matrix.
torch::Tensor naive_dma(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& delta, const torch::Tensor& kept) {
  const int64_t group = q.size(1) / k.size(1);
  auto s = torch::matmul(q, k.repeat_interleave(group, 1).transpose(-2, -1)) /
               std::sqrt(static_cast<double>(q.size(3))) +
           delta.repeat_interleave(group, 1).unsqueeze(2);
  s = s.masked_fill(kept.repeat_interleave(group, 1).logical_not(), -INFINITY);
  return torch::matmul(torch::softmax(s, -1), v.repeat_interleave(group, 1));
}

torch::Tensor kernel_dma(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                         const torch::Tensor& w, const torch::Tensor& a, int64_t keep) {
  const auto delta = dynamic_mask_delta(v, w, a);
  return dynamic_mask_attention(q, k, v, delta, dynamic_mask_select(delta, q.size(2), keep));
}

// The selection as [B, K, T, S] booleans (its valid slots only).
torch::Tensor selection_as_mask(const DynamicMaskSelection& sel, int64_t S) {
  const auto idx = sel.index_BKTN;
  auto mask = torch::zeros({idx.size(0), idx.size(1), idx.size(2), S}, torch::kBool);
  auto ia = idx.accessor<int64_t, 4>();
  auto va = sel.valid_TN.accessor<bool, 2>();
  auto ma = mask.accessor<bool, 4>();
  for (int64_t b = 0; b < idx.size(0); ++b)
    for (int64_t k = 0; k < idx.size(1); ++k)
      for (int64_t i = 0; i < idx.size(2); ++i)
        for (int64_t n = 0; n < idx.size(3); ++n)
          if (va[i][n]) {
            CHECK_FALSE(ma[b][k][i][ia[b][k][i][n]]);  // no key kept twice
            ma[b][k][i][ia[b][k][i][n]] = true;
          }
  return mask;
}

}  // namespace

TEST_CASE("DMA delta is exp(A softplus(v W))", "[dma]") {
  const auto v = torch::randn({2, 3, 11, 8}, kF64), w = torch::randn({3, 8}, kF64);
  const auto a = torch::randn({3}, kF64);
  CHECK(max_abs_diff(dynamic_mask_delta(v, w, a), naive_delta(v, w, a)) < 1e-12);
  CHECK_THROWS_WITH(dynamic_mask_delta(v, torch::randn({2, 8}, kF64), a),
                    Catch::Contains("weight_KD must be [K, D]"));
}

TEST_CASE("DMA top-k with all delta equal (A = 0) is a sliding window of keep keys", "[dma]") {
  const int64_t T = 30, keep = 7;
  const auto v = torch::randn({2, 2, T, 4}, kF64);
  const auto delta = dynamic_mask_delta(v, torch::randn({2, 4}, kF64), torch::zeros({2}, kF64));
  const auto kept = selection_as_mask(dynamic_mask_select(delta, T, keep), T);
  auto window = torch::zeros({T, T}, torch::kBool);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = std::max<int64_t>(0, i - keep + 1); j <= i; ++j) window[i][j] = true;
  CHECK(kept.equal(window.expand_as(kept)));
}

TEST_CASE("DMA top-k equals brute force, ties to the most recent key", "[dma]") {
  for (int64_t keep : {1, 4, 9, 40}) {
    for (int64_t S : {1, 17, 33}) {
      const int64_t T = std::max<int64_t>(1, S - 5);
      // Few distinct values, so ties are common.
      const auto delta = torch::randint(0, 4, {2, 3, S}, kF64);
      INFO("keep " << keep << " S " << S << " T " << T);
      const auto sel = dynamic_mask_select(delta, T, keep);
      CHECK(sel.index_BKTN.size(3) == std::min(keep, S));
      CHECK(selection_as_mask(sel, S).equal(naive_kept(delta, T, keep)));
    }
  }
}

TEST_CASE("DMA attention and its gradients match the naive fp64 reference", "[dma]") {
  const int64_t B = 2, H = 4, K = 2, T = 23, D = 8, keep = 5;
  auto q = torch::randn({B, H, T, D}, kF64).requires_grad_();
  auto k = torch::randn({B, K, T, D}, kF64).requires_grad_();
  auto v = torch::randn({B, K, T, D}, kF64).requires_grad_();
  auto w = torch::randn({K, D}, kF64).requires_grad_();
  auto a = torch::randn({K}, kF64).requires_grad_();
  const auto dy = torch::randn({B, H, T, D}, kF64);
  const std::vector<torch::Tensor> inputs{q, k, v, w, a};
  const auto y = kernel_dma(q, k, v, w, a, keep);
  const auto grads = torch::autograd::grad({(y * dy).sum()}, inputs);
  const auto delta =
      torch::exp(a.view({1, K, 1}) * torch::softplus(torch::einsum("bkjd,kd->bkj", {v, w})));
  const auto y_ref = naive_dma(
      q, k, v, delta, naive_kept(naive_delta(v.detach(), w.detach(), a.detach()), T, keep));
  const auto grads_ref = torch::autograd::grad({(y_ref * dy).sum()}, inputs);
  CHECK(max_abs_diff(y, y_ref) < 1e-12);
  for (size_t n = 0; n < inputs.size(); ++n) {
    INFO("gradient " << n << " (q, k, v, W, A)");
    CHECK(grads[n].abs().max().item<double>() > 0);
    CHECK(max_abs_diff(grads[n], grads_ref[n]) < 1e-10);
  }
}

TEST_CASE("DMA decoding (S > T, offset) equals the full forward's last rows", "[dma]") {
  const int64_t S = 29, keep = 6;
  const auto q = torch::randn({1, 4, S, 8}, kF64), k = torch::randn({1, 2, S, 8}, kF64);
  const auto v = torch::randn({1, 2, S, 8}, kF64);
  const auto w = torch::randn({2, 8}, kF64), a = torch::randn({2}, kF64);
  const auto full = kernel_dma(q, k, v, w, a, keep);
  for (int64_t T : {1, 3, 10}) {
    INFO("T " << T);
    const auto last = kernel_dma(q.slice(2, S - T), k, v, w, a, keep);
    CHECK(max_abs_diff(last, full.slice(2, S - T)) < 1e-12);
  }
}

TEST_CASE("DMA FLOPs count the kept pairs and the delta projection", "[dma]") {
  for (int64_t T : {1, 5, 64, 300}) {
    double pairs = 0;
    for (int64_t i = 0; i < T; ++i) pairs += std::min<int64_t>(i + 1, 64);
    CHECK(dynamic_mask_pairs(T, 64) == pairs);
    const auto f = dynamic_mask_flops(T, 64, 8, 2, 16);
    CHECK(f.forward == Approx(4.0 * 16 * 8 * pairs + 2.0 * T * 2 * 16).epsilon(1e-12));
    CHECK(f.backward == Approx(2.5 * 4.0 * 16 * 8 * pairs + 4.0 * T * 2 * 16).epsilon(1e-12));
  }
  CHECK_THROWS_WITH(dynamic_mask_pairs(10, 0), Catch::Contains("keep must be >= 1"));
}
