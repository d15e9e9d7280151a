// cached_attention (window, sinks, gate, key offset) against a naive fp64 reference whose mask
// is built position by position; cached rows against the rows of a full forward; gradients;
// sink_window_pairs against counting; argument checks.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/cached_attention.h"
#include "naive_attention.h"

using namespace attnlab::kernels;
using attnlab::test::max_abs_diff;

namespace {

struct Case {
  int64_t H, K, T, S, window, n_sink, key_offset, block;
  bool gated;
};

std::string describe(const Case& c) {
  return "H=" + std::to_string(c.H) + " K=" + std::to_string(c.K) + " T=" + std::to_string(c.T) +
         " S=" + std::to_string(c.S) + " w=" + std::to_string(c.window) +
         " sinks=" + std::to_string(c.n_sink) + " key_offset=" + std::to_string(c.key_offset) +
         " block=" + std::to_string(c.block) + " gated=" + std::to_string(c.gated);
}

// Key j (position key_offset + j) visible to query i (position key_offset + S - T + i).
torch::Tensor naive_cached_mask(const Case& c) {
  auto mask = torch::zeros({c.T, c.S}, torch::kBool);
  auto m = mask.accessor<bool, 2>();
  for (int64_t i = 0; i < c.T; ++i) {
    const int64_t qp = c.key_offset + c.S - c.T + i;
    for (int64_t j = 0; j < c.S; ++j) {
      const int64_t kp = c.key_offset + j;
      const bool in_window = c.window < 0 || qp - kp <= c.window;
      m[i][j] = kp <= qp && (in_window || kp < c.n_sink);
    }
  }
  return mask;
}

torch::Tensor naive_cached(const Case& c, const torch::Tensor& q, const torch::Tensor& k,
                           const torch::Tensor& v, const torch::Tensor& gate_BTH) {
  const int64_t group = c.H / c.K;
  auto s = torch::matmul(q, k.repeat_interleave(group, 1).transpose(-2, -1)) /
           std::sqrt(static_cast<double>(q.size(3)));
  s = s.masked_fill(naive_cached_mask(c).logical_not(), -INFINITY);
  auto y = torch::matmul(torch::softmax(s, -1), v.repeat_interleave(group, 1));
  return gate_BTH.defined() ? y * gate_BTH.permute({0, 2, 1}).unsqueeze(-1) : y;
}

struct Inputs {
  torch::Tensor q, k, v, gate;
};

Inputs random_inputs(const Case& c) {
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  Inputs in{torch::randn({2, c.H, c.T, 8}, o),
            torch::randn({2, c.K, c.S, 8}, o),
            torch::randn({2, c.K, c.S, 8}, o),
            {}};
  if (c.gated) in.gate = torch::rand({2, c.T, c.H}, o) * 0.9 + 0.05;
  return in;
}

CachedAttentionParams params_for(const Case& c, const torch::Tensor& gate) {
  CachedAttentionParams p;
  p.window = c.window;
  p.n_sink = c.n_sink;
  p.key_offset = c.key_offset;
  p.block_size = c.block;
  p.gate_BTH = gate;
  return p;
}

const Case kCases[] = {
    {4, 2, 1, 1, kDenseWindow, 0, 0, 64, false},
    {4, 2, 1, 9, kDenseWindow, 0, 0, 64, true},
    {4, 2, 3, 20, 5, 0, 0, 64, false},
    {4, 1, 20, 20, 5, 2, 0, 4, true},
    {4, 4, 37, 37, 6, 3, 0, 8, false},
    {2, 2, 5, 30, 4, 4, 0, 2, true},
    {4, 2, 4, 12, 3, 5, 7, 64, true},
    {4, 2, 50, 50, kDenseWindow, 3, 0, 16, false},
    {4, 2, 33, 40, 0, 1, 0, 7, true},
    {4, 2, 10, 40, 50, 2, 0, 3, false},
};

}  // namespace

TEST_CASE("cached_attention matches the naive fp64 reference", "[cached_attention]") {
  for (const auto& c : kCases) {
    INFO(describe(c));
    const auto in = random_inputs(c);
    const auto y = cached_attention(in.q, in.k, in.v, params_for(c, in.gate));
    CHECK(max_abs_diff(y, naive_cached(c, in.q, in.k, in.v, in.gate)) < 1e-12);
  }
}

TEST_CASE("cached_attention gradients match the reference's", "[cached_attention]") {
  for (const auto& c : {kCases[3], kCases[5], kCases[6]}) {
    INFO(describe(c));
    auto in = random_inputs(c);
    for (auto* t : {&in.q, &in.k, &in.v, &in.gate}) t->requires_grad_(true);
    const auto dy = torch::randn({2, c.H, c.T, 8}, torch::kDouble);
    const auto y = cached_attention(in.q, in.k, in.v, params_for(c, in.gate));
    const auto ref = naive_cached(c, in.q, in.k, in.v, in.gate);
    const auto inputs = std::vector<torch::Tensor>{in.q, in.k, in.v, in.gate};
    const auto got = torch::autograd::grad({y}, inputs, {dy});
    const auto want = torch::autograd::grad({ref}, inputs, {dy});
    for (size_t i = 0; i < inputs.size(); ++i) CHECK(max_abs_diff(got[i], want[i]) < 1e-12);
  }
}

TEST_CASE("cached rows equal the rows of a full forward", "[cached_attention]") {
  const int64_t S = 30;
  for (const auto& [window, n_sink] : std::vector<std::pair<int64_t, int64_t>>{
           {kDenseWindow, 0}, {4, 0}, {4, 3}, {kDenseWindow, 2}, {0, 1}}) {
    Case full{4, 2, S, S, window, n_sink, 0, 8, true};
    const auto in = random_inputs(full);
    const auto y_full = cached_attention(in.q, in.k, in.v, params_for(full, in.gate));
    for (int64_t T : {1, 3, 30}) {
      INFO("w=" << window << " sinks=" << n_sink << " T=" << T);
      Case step{4, 2, T, S, window, n_sink, 0, 64, true};
      const auto q = in.q.narrow(2, S - T, T), gate = in.gate.narrow(1, S - T, T);
      const auto y = cached_attention(q, in.k, in.v, params_for(step, gate));
      CHECK(max_abs_diff(y, y_full.narrow(2, S - T, T)) < 1e-12);
    }
  }
}

TEST_CASE("a rolling cache of w + 1 keys gives the windowed rows", "[cached_attention]") {
  Case full{4, 2, 40, 40, 6, 0, 0, 64, false};
  const auto in = random_inputs(full);
  AttentionParams window_params;
  window_params.window = 6;
  const auto y_full = causal_attention(in.q, in.k, in.v, window_params);
  for (int64_t p : {6, 7, 25, 39}) {
    INFO("position " << p);
    const int64_t first = std::max<int64_t>(0, p - 6);
    Case step{4, 2, 1, p - first + 1, 6, 0, first, 64, false};
    const auto y = cached_attention(in.q.narrow(2, p, 1), in.k.narrow(2, first, step.S),
                                    in.v.narrow(2, first, step.S), params_for(step, {}));
    CHECK(max_abs_diff(y, y_full.narrow(2, p, 1)) < 1e-12);
  }
}

TEST_CASE("cached_attention computes reduced precision in float32", "[cached_attention]") {
  Case c{4, 2, 6, 20, 4, 2, 0, 64, false};
  const auto in = random_inputs(c);
  const auto y = cached_attention(in.q.to(torch::kBFloat16), in.k.to(torch::kBFloat16),
                                  in.v.to(torch::kBFloat16), params_for(c, {}));
  CHECK(y.scalar_type() == torch::kBFloat16);
  const auto ref = naive_cached(c, in.q.to(torch::kBFloat16).to(torch::kDouble),
                                in.k.to(torch::kBFloat16).to(torch::kDouble),
                                in.v.to(torch::kBFloat16).to(torch::kDouble), {});
  CHECK(max_abs_diff(y, ref) < 2e-2);
}

TEST_CASE("sink_window_pairs counts the visible pairs", "[cached_attention]") {
  for (const auto& [w, s] : std::vector<std::pair<int64_t, int64_t>>{
           {kDenseWindow, 0}, {kDenseWindow, 3}, {0, 0}, {0, 4}, {5, 2}, {5, 9}, {40, 4}}) {
    for (int64_t first : {0, 3, 17}) {
      double count = 0;
      for (int64_t i = first; i < 30; ++i) {
        for (int64_t j = 0; j <= i; ++j) count += (w < 0 || i - j <= w || j < s) ? 1 : 0;
      }
      INFO("w=" << w << " sinks=" << s << " first=" << first);
      CHECK(sink_window_pairs(first, 30, w, s) == count);
    }
  }
}

TEST_CASE("cached_attention rejects bad arguments with a message", "[cached_attention]") {
  const auto q = torch::randn({1, 4, 5, 8}), k = torch::randn({1, 2, 4, 8});
  CHECK_THROWS_WITH(cached_attention(q, k, k, {}), Catch::Contains("must be >= T"));
  const auto k_ok = torch::randn({1, 2, 9, 8});
  CachedAttentionParams p;
  p.n_sink = -1;
  CHECK_THROWS_WITH(cached_attention(q, k_ok, k_ok, p), Catch::Contains("n_sink"));
  p = {};
  p.gate_BTH = torch::rand({1, 4, 5});
  CHECK_THROWS_WITH(cached_attention(q, k_ok, k_ok, p), Catch::Contains("gate_BTH must be"));
  CHECK_THROWS_WITH(cached_attention(q, torch::randn({1, 3, 9, 8}), torch::randn({1, 3, 9, 8}), {}),
                    Catch::Contains("multiple of kv heads"));
}
