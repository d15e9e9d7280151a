// Blocked causal/windowed GQA attention (and its fused gate) against the naive fp64
// reference: forward values and every gradient, over lengths that are and are not multiples
// of the block, windows wider and narrower than T, GQA ratios, and both sides of T = 512.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/head_gate.h"
#include "naive_attention.h"

using namespace attnlab::kernels;
using attnlab::test::max_abs_diff;
using attnlab::test::naive_attention;

namespace {

struct Case {
  int64_t B, H, K, T, D, window, block;
};

std::string describe(const Case& c) {
  return "B=" + std::to_string(c.B) + " H=" + std::to_string(c.H) + " K=" + std::to_string(c.K) +
         " T=" + std::to_string(c.T) + " D=" + std::to_string(c.D) +
         " w=" + std::to_string(c.window) + " block=" + std::to_string(c.block);
}

struct Inputs {
  torch::Tensor q, k, v, gate;
};

Inputs random_inputs(const Case& c, torch::Dtype dtype, bool gated) {
  const auto opts = torch::TensorOptions().dtype(dtype);
  Inputs in{torch::randn({c.B, c.H, c.T, c.D}, opts),
            torch::randn({c.B, c.K, c.T, c.D}, opts),
            torch::randn({c.B, c.K, c.T, c.D}, opts),
            {}};
  if (gated) in.gate = torch::rand({c.B, c.T, c.H}, opts) * 0.9 + 0.05;
  for (auto* t : {&in.q, &in.k, &in.v, &in.gate}) {
    if (t->defined()) t->requires_grad_(true);
  }
  return in;
}

torch::Tensor run_kernel(const Inputs& in, const Case& c) {
  const AttentionParams params{c.window, c.block, 0.0};
  return in.gate.defined() ? gated_causal_attention(in.q, in.k, in.v, in.gate, params)
                           : causal_attention(in.q, in.k, in.v, params);
}

// Forward and all gradients of the kernel vs the reference on the same fp64 inputs.
void check_against_reference(const Case& c, bool gated) {
  INFO(describe(c) << (gated ? " gated" : ""));
  const auto in = random_inputs(c, torch::kDouble, gated);
  const auto y = run_kernel(in, c);
  const auto y_ref = naive_attention(in.q, in.k, in.v, c.window, in.gate);
  REQUIRE(y.sizes() == y_ref.sizes());
  CHECK(max_abs_diff(y, y_ref) < 1e-10);

  const auto dy = torch::randn_like(y);
  std::vector<torch::Tensor> inputs = {in.q, in.k, in.v};
  if (gated) inputs.push_back(in.gate);
  const auto grads = torch::autograd::grad({y}, inputs, {dy});
  const auto grads_ref = torch::autograd::grad({y_ref}, inputs, {dy});
  const char* names[] = {"dq", "dk", "dv", "dgate"};
  for (size_t i = 0; i < inputs.size(); ++i) {
    INFO(names[i]);
    REQUIRE(grads[i].defined());
    CHECK(grads[i].abs().max().item<double>() > 0);
    CHECK(max_abs_diff(grads[i], grads_ref[i]) < 1e-9);
  }
}

}  // namespace

TEST_CASE("blocked attention matches the naive reference, forward and backward (fp64)",
          "[attention]") {
  torch::manual_seed(1234);
  const std::vector<Case> cases = {
      {2, 4, 4, 1, 8, kDenseWindow, 16},    // one token
      {2, 4, 4, 37, 8, kDenseWindow, 16},   // T not a multiple of the block
      {1, 4, 2, 64, 16, kDenseWindow, 16},  // T a multiple of the block, GQA 2
      {2, 6, 1, 50, 8, kDenseWindow, 128},  // one block, multi-query
      {2, 4, 4, 37, 8, 0, 16},              // window 0: each token sees itself only
      {1, 4, 2, 45, 8, 1, 16},
      {2, 4, 2, 70, 8, 7, 16},       // window smaller than the block
      {1, 6, 3, 100, 8, 23, 16},     // window larger than the block, GQA 2
      {1, 4, 1, 40, 8, 64, 16},      // T <= w: same as dense
      {1, 2, 2, 300, 16, 256, 128},  // the real window at T > w
      {1, 2, 1, 513, 8, 256, 128},   // just above the adaptive threshold
  };
  for (const auto& c : cases) {
    check_against_reference(c, false);
    check_against_reference(c, true);
  }
}

TEST_CASE("block size does not change results", "[attention]") {
  torch::manual_seed(7);
  const Case c{1, 4, 2, 150, 8, 20, 0};
  const auto in = random_inputs(c, torch::kDouble, false);
  torch::NoGradGuard no_grad;
  const auto y1 = causal_attention(in.q, in.k, in.v, {c.window, 1, 0.0});
  const auto y2 = causal_attention(in.q, in.k, in.v, {c.window, 33, 0.0});
  const auto y3 = causal_attention(in.q, in.k, in.v, {c.window, 1000, 0.0});
  CHECK(max_abs_diff(y1, y2) < 1e-12);
  CHECK(max_abs_diff(y1, y3) < 1e-12);
}

TEST_CASE("fp32 kernel error is within a small multiple of the fp32 reference's error",
          "[attention]") {
  torch::manual_seed(11);
  const Case c{2, 4, 2, 200, 32, 50, 64};
  const auto in = random_inputs(c, torch::kDouble, true);
  torch::NoGradGuard no_grad;
  const auto y64 = naive_attention(in.q, in.k, in.v, c.window, in.gate);
  const auto f = [](const torch::Tensor& t) { return t.to(torch::kFloat); };
  const auto ref32 = naive_attention(f(in.q), f(in.k), f(in.v), c.window, f(in.gate));
  const auto y32 =
      gated_causal_attention(f(in.q), f(in.k), f(in.v), f(in.gate), {c.window, c.block, 0.0});
  CHECK(y32.scalar_type() == torch::kFloat);
  const double ref_err = max_abs_diff(ref32, y64), err = max_abs_diff(y32, y64);
  INFO("kernel fp32 error " << err << ", reference fp32 error " << ref_err);
  CHECK(err <= 2 * ref_err + 1e-6);
  // bfloat16 inputs are computed in fp32 and returned as bfloat16.
  const auto b = [](const torch::Tensor& t) { return t.to(torch::kBFloat16); };
  const auto y16 = causal_attention(b(in.q), b(in.k), b(in.v), {c.window, c.block, 0.0});
  CHECK(y16.scalar_type() == torch::kBFloat16);
  CHECK(max_abs_diff(y16, naive_attention(b(in.q).to(torch::kDouble), b(in.k).to(torch::kDouble),
                                          b(in.v).to(torch::kDouble), c.window)) < 0.05);
}

TEST_CASE("non-contiguous inputs and a custom scale", "[attention]") {
  torch::manual_seed(5);
  // q laid out [B, T, H, D] as a model produces it, viewed as [B, H, T, D].
  const auto q = torch::randn({2, 30, 4, 8}, torch::kDouble).transpose(1, 2);
  const auto k = torch::randn({2, 30, 2, 8}, torch::kDouble).transpose(1, 2);
  const auto v = torch::randn({2, 30, 2, 8}, torch::kDouble).transpose(1, 2);
  REQUIRE_FALSE(q.is_contiguous());
  torch::NoGradGuard no_grad;
  const auto y = causal_attention(q, k, v, {5, 8, 0.0});
  CHECK(max_abs_diff(y, naive_attention(q, k, v, 5)) < 1e-12);
  // scale s on q·k equals the default scale on (q · s·sqrt(D)).
  const double s = 0.7;
  const auto y_scaled = causal_attention(q, k, v, {5, 8, s});
  CHECK(max_abs_diff(y_scaled, naive_attention(q * (s * std::sqrt(8.0)), k, v, 5)) < 1e-12);
}

TEST_CASE("gate parameters receive the reference gradients through head_gate",
          "[attention][gate]") {
  torch::manual_seed(3);
  const int64_t B = 2, T = 40, C = 12, H = 4, K = 2, D = 8;
  const auto x = torch::randn({B, T, C}, torch::kDouble);
  auto weight = torch::empty({H, C}, torch::kDouble), bias = torch::empty({H}, torch::kDouble);
  init_head_gate(weight, bias, {0.3, 0.5});
  CHECK(bias.eq(0.5).all().item<bool>());
  CHECK(weight.std().item<double>() == Approx(0.3).epsilon(0.3));
  weight.requires_grad_(true);
  bias.requires_grad_(true);
  const auto q = torch::randn({B, H, T, D}, torch::kDouble),
             k = torch::randn({B, K, T, D}, torch::kDouble),
             v = torch::randn({B, K, T, D}, torch::kDouble);

  const auto g = head_gate(x, weight, bias);
  const auto g_ref = torch::sigmoid(torch::matmul(x, weight.t()) + bias);
  CHECK(max_abs_diff(g, g_ref) < 1e-14);
  const auto y = gated_causal_attention(q, k, v, g, {9, 16, 0.0});
  const auto y_ref = naive_attention(q, k, v, 9, g_ref);
  const auto dy = torch::randn_like(y);
  const auto grads = torch::autograd::grad({y}, {weight, bias}, {dy});
  const auto grads_ref = torch::autograd::grad({y_ref}, {weight, bias}, {dy});
  CHECK(grads[0].abs().max().item<double>() > 0);
  CHECK(max_abs_diff(grads[0], grads_ref[0]) < 1e-10);
  CHECK(max_abs_diff(grads[1], grads_ref[1]) < 1e-10);
}

TEST_CASE("bad arguments fail with a message naming them", "[attention]") {
  const auto q = torch::randn({1, 3, 10, 8}), k = torch::randn({1, 2, 10, 8}),
             v = torch::randn({1, 2, 10, 8});
  CHECK_THROWS_WITH(causal_attention(q, k, v, {}), Catch::Contains("multiple of kv heads"));
  const auto q4 = torch::randn({1, 4, 10, 8});
  CHECK_THROWS_WITH(causal_attention(q4, k, torch::randn({1, 2, 9, 8}), {}),
                    Catch::Contains("k_BKTD and v_BKTD must have the same shape"));
  CHECK_THROWS_WITH(causal_attention(q4, k, v.to(torch::kDouble), {}),
                    Catch::Contains("same dtype"));
  CHECK_THROWS_WITH(causal_attention(q4, k, v, {-3, 128, 0.0}),
                    Catch::Contains("window must be >= 0"));
  CHECK_THROWS_WITH(causal_attention(q4, k, v, {4, 0, 0.0}),
                    Catch::Contains("block_size must be > 0"));
  CHECK_THROWS_WITH(gated_causal_attention(q4, k, v, torch::rand({1, 10, 3}), {}),
                    Catch::Contains("gate_BTH must be [B, T, H] = [1, 10, 4]"));
}
