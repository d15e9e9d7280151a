// flash_windowed_attention (the glue to LibTorch's flash attention) on the CPU, against
// stand-in operators registered here with the schemas of three LibTorch generations
// (2.5/2.6: philox_seed/philox_offset; 2.7 on: rng_state/unused; later: extra defaulted
// arguments). The stand-ins compute flash's contract with the naive fp64 reference — [B, T,
// heads, D] layout, logsumexp [B, H, T], window_size_left/right with is_causal — and check what
// they are given, so argument passing by name, layouts, the saved logsumexp and the random state
// handed from forward to backward are all tested without a GPU. Flash's own kernels are not.
#include <torch/library.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "attnlab/kernels/attention_backend.h"
#include "naive_attention.h"

using namespace attnlab::kernels;
using attnlab::test::max_abs_diff;
using attnlab::test::naive_attention;
using attnlab::test::naive_scores;

namespace {

// The random state the stand-in forward returns and the stand-in backward expects back.
constexpr int64_t kSeedMarker = 1234, kOffsetMarker = 5678;

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("stand-in flash op: " + what);
}

// The argument `name` of op's call on the stack.
const c10::IValue& arg(const c10::OperatorHandle& op, const torch::jit::Stack& stack,
                       const std::string& name) {
  const auto& schema = op.schema();
  const auto index = schema.argumentIndexWithName(name);
  expect(index.has_value(), "no argument " + name);
  return stack[stack.size() - schema.arguments().size() + *index];
}

// Flash's [B, T, heads, D] argument as [B, heads, T, D]; flash reads D with unit stride.
torch::Tensor heads_first(const c10::IValue& value) {
  expect(value.toTensor().stride(-1) == 1,
         "the head dim of q, k, v, out and grad_out must have stride 1");
  return value.toTensor().transpose(1, 2);
}

// The window the call asks for, after checking the rest of flash's causal-window contract.
int64_t window_of(const c10::OperatorHandle& op, const torch::jit::Stack& stack, int64_t T) {
  expect(arg(op, stack, "is_causal").toBool(), "is_causal must be true");
  expect(arg(op, stack, "dropout_p").toDouble() == 0.0, "dropout_p must be 0");
  expect(arg(op, stack, "max_q").toInt() == T && arg(op, stack, "max_k").toInt() == T,
         "max_q and max_k must be T");
  expect(arg(op, stack, "window_size_right").toInt() == 0, "window_size_right must be 0");
  return arg(op, stack, "window_size_left").toInt();
}

void push(torch::jit::Stack* stack, const c10::OperatorHandle& op,
          const std::vector<torch::Tensor>& outputs) {
  torch::jit::drop(*stack, op.schema().arguments().size());
  for (const auto& t : outputs) stack->emplace_back(t);
}

void fake_flash_forward(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const auto q = heads_first(arg(op, *stack, "query")), k = heads_first(arg(op, *stack, "key")),
             v = heads_first(arg(op, *stack, "value"));
  expect(arg(op, *stack, "cum_seq_q").isNone(), "cum_seq_q must be None (not varlen)");
  const auto s =
      naive_scores(q, k, window_of(op, *stack, q.size(2)), arg(op, *stack, "scale").toDouble());
  const auto o =
      torch::matmul(torch::softmax(s, -1), v.repeat_interleave(q.size(1) / k.size(1), 1));
  push(stack, op,
       {o.transpose(1, 2).contiguous(), torch::logsumexp(s, -1), torch::tensor(kSeedMarker),
        torch::tensor(kOffsetMarker), torch::empty({0})});
}

// Flash's backward from its inputs: dS = P ∘ (dO·Vᵀ − rowsum(dO ∘ O)), summed over each group.
void fake_flash_backward(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const auto q = heads_first(arg(op, *stack, "query")), k = heads_first(arg(op, *stack, "key")),
             v = heads_first(arg(op, *stack, "value")), o = heads_first(arg(op, *stack, "out")),
             d_o = heads_first(arg(op, *stack, "grad_out"));
  const int64_t B = q.size(0), H = q.size(1), K = k.size(1), T = q.size(2), D = q.size(3);
  const double scale = arg(op, *stack, "scale").toDouble();
  const size_t base = stack->size() - op.schema().arguments().size();
  expect((*stack)[base + 12].toTensor().item<int64_t>() == kSeedMarker &&
             (*stack)[base + 13].toTensor().item<int64_t>() == kOffsetMarker,
         "the forward's random state did not reach the backward");
  const auto s = naive_scores(q, k, window_of(op, *stack, T), scale);
  const auto lse = arg(op, *stack, "logsumexp").toTensor();
  expect(max_abs_diff(lse, torch::logsumexp(s, -1)) < 1e-12, "logsumexp is not the forward's");
  const auto p = (s - lse.unsqueeze(-1)).exp();
  const auto k_full = k.repeat_interleave(H / K, 1), v_full = v.repeat_interleave(H / K, 1);
  const auto ds = p * (torch::matmul(d_o, v_full.transpose(-2, -1)) - (d_o * o).sum(-1, true));
  const auto dq = torch::matmul(ds, k_full) * scale;
  const auto group_sum = [&](const torch::Tensor& t) { return t.view({B, K, H / K, T, D}).sum(2); };
  const auto dk = group_sum(torch::matmul(ds.transpose(-2, -1), q) * scale);
  const auto dv = group_sum(torch::matmul(p.transpose(-2, -1), d_o));
  push(stack, op, {dq.transpose(1, 2), dk.transpose(1, 2), dv.transpose(1, 2)});
}

#define FLASH_FORWARD_ARGS                                                                   \
  "(Tensor query, Tensor key, Tensor value, Tensor? cum_seq_q, Tensor? cum_seq_k, SymInt "   \
  "max_q, SymInt max_k, float dropout_p, bool is_causal, bool return_debug_mask, *, float? " \
  "scale=None, SymInt? window_size_left=None, SymInt? window_size_right=None, Tensor? "      \
  "seqused_k=None, Tensor? alibi_slopes=None"
#define FLASH_BACKWARD_ARGS                                                                  \
  "(Tensor grad_out, Tensor query, Tensor key, Tensor value, Tensor out, Tensor logsumexp, " \
  "Tensor cum_seq_q, Tensor cum_seq_k, SymInt max_q, SymInt max_k, float dropout_p, bool "   \
  "is_causal, "
#define FLASH_BACKWARD_KEYWORDS                                                             \
  ", *, float? scale=None, SymInt? window_size_left=None, SymInt? window_size_right=None) " \
  "-> (Tensor, Tensor, Tensor)"

TORCH_LIBRARY(attnlab_fake_flash, m) {
  m.def("forward_2_5" FLASH_FORWARD_ARGS
        ") -> (Tensor output, Tensor softmax_logsumexp, Tensor philox_seed, Tensor "
        "philox_offset, Tensor debug_attn_mask)");
  m.def("backward_2_5" FLASH_BACKWARD_ARGS
        "Tensor philox_seed, Tensor philox_offset" FLASH_BACKWARD_KEYWORDS);
  m.def("forward_2_7" FLASH_FORWARD_ARGS
        ") -> (Tensor output, Tensor softmax_logsumexp, Tensor rng_state, Tensor unused, Tensor "
        "debug_attn_mask)");
  m.def("backward_2_7" FLASH_BACKWARD_ARGS
        "Tensor rng_state, Tensor unused" FLASH_BACKWARD_KEYWORDS);
  m.def("forward_later" FLASH_FORWARD_ARGS
        ", Tensor? block_table=None, int? num_splits=None) -> (Tensor output, Tensor "
        "softmax_logsumexp, Tensor rng_state, Tensor unused, Tensor debug_attn_mask)");
  // A backward whose random-state argument the forward does not return.
  m.def("backward_renamed" FLASH_BACKWARD_ARGS
        "Tensor generator_state, Tensor unused" FLASH_BACKWARD_KEYWORDS);
}

TORCH_LIBRARY_IMPL(attnlab_fake_flash, CPU, m) {
  for (const char* name : {"forward_2_5", "forward_2_7", "forward_later"}) {
    m.impl(name, torch::CppFunction::makeFromBoxedFunction<&fake_flash_forward>());
  }
  for (const char* name : {"backward_2_5", "backward_2_7", "backward_renamed"}) {
    m.impl(name, torch::CppFunction::makeFromBoxedFunction<&fake_flash_backward>());
  }
}

FlashOps fake_ops(const std::string& forward, const std::string& backward) {
  auto& dispatcher = c10::Dispatcher::singleton();
  return {dispatcher.findSchemaOrThrow(("attnlab_fake_flash::" + forward).c_str(), ""),
          dispatcher.findSchemaOrThrow(("attnlab_fake_flash::" + backward).c_str(), "")};
}

struct Case {
  int64_t B, H, K, T, D, window;
  double scale;  // 0: 1/sqrt(D)
};

// q in the [B, T, H, D] layout a model produces, viewed as [B, H, T, D]; k and v plain.
std::vector<torch::Tensor> random_leaves(const Case& c) {
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  auto q = torch::randn({c.B, c.T, c.H, c.D}, opts).transpose(1, 2).requires_grad_(true);
  auto k = torch::randn({c.B, c.K, c.T, c.D}, opts).requires_grad_(true);
  auto v = torch::randn({c.B, c.K, c.T, c.D}, opts).requires_grad_(true);
  return {q, k, v};
}

void check_against_reference(const Case& c, const FlashOps& ops) {
  INFO("B=" << c.B << " H=" << c.H << " K=" << c.K << " T=" << c.T << " D=" << c.D
            << " w=" << c.window << " scale=" << c.scale << " ops " << ops.forward.schema().name());
  const auto in = random_leaves(c);
  const double scale = c.scale > 0 ? c.scale : 1.0 / std::sqrt(static_cast<double>(c.D));
  const auto y = flash_windowed_attention({in[0], in[1], in[2], {}, c.window, 64, scale}, ops);
  const auto y_ref = naive_attention(in[0], in[1], in[2], c.window, {}, c.scale);
  REQUIRE(y.sizes() == y_ref.sizes());
  CHECK(max_abs_diff(y, y_ref) < 1e-12);
  const auto dy = torch::randn_like(y);
  const auto grads = torch::autograd::grad({y}, in, {dy});
  const auto grads_ref = torch::autograd::grad({y_ref}, in, {dy});
  for (size_t i = 0; i < in.size(); ++i) {
    INFO("gradient " << i);
    CHECK(grads[i].abs().max().item<double>() > 0);
    CHECK(max_abs_diff(grads[i], grads_ref[i]) < 1e-10);
  }
}

}  // namespace

TEST_CASE("flash_windowed_attention passes flash's arguments by name across its schemas",
          "[attention][flash]") {
  torch::manual_seed(99);
  const std::vector<Case> cases = {
      {2, 4, 2, 37, 8, 7, 0.0},   // GQA 2, window smaller than T
      {1, 6, 1, 50, 16, 0, 0.0},  // multi-query, each token sees itself only
      {2, 4, 4, 1, 8, 3, 0.0},    // one token
      {1, 4, 2, 30, 8, 64, 0.3},  // window wider than T, custom scale
  };
  for (const auto& [forward, backward] :
       std::vector<std::pair<std::string, std::string>>{{"forward_2_5", "backward_2_5"},
                                                        {"forward_2_7", "backward_2_7"},
                                                        {"forward_later", "backward_2_7"}}) {
    for (const auto& c : cases) check_against_reference(c, fake_ops(forward, backward));
  }
}

TEST_CASE("flash_windowed_attention hands flash a unit-stride head dim", "[attention][flash]") {
  torch::manual_seed(5);
  // Every other element of the last axis: a layout flash cannot read, made contiguous first.
  const auto q = torch::randn({1, 2, 20, 16}, torch::kDouble).slice(3, 0, 16, 2);
  const auto k = torch::randn({1, 2, 20, 8}, torch::kDouble);
  REQUIRE(q.stride(-1) == 2);
  torch::NoGradGuard no_grad;
  const auto y =
      flash_windowed_attention({q, k, k, {}, 5, 64, 0.5}, fake_ops("forward_2_7", "backward_2_7"));
  CHECK(max_abs_diff(y, naive_attention(q, k, k, 5, {}, 0.5)) < 1e-12);
}

TEST_CASE(
    "a flash backward whose random-state arguments the forward does not return fails "
    "clearly",
    "[attention][flash]") {
  const auto in = random_leaves({1, 2, 2, 10, 8, 3, 0.0});
  const auto y = flash_windowed_attention({in[0], in[1], in[2], {}, 3, 64, 0.25},
                                          fake_ops("forward_2_7", "backward_renamed"));
  CHECK_THROWS_WITH(y.sum().backward(),
                    Catch::Contains("argument 'generator_state' of "
                                    "attnlab_fake_flash::backward_renamed has no default"));
}
