// The attention dispatch on a CPU machine: the backend choice table (CUDA rows included, as a
// pure function), the descriptions it records, the run-time flash schema check on schemas of
// several LibTorch versions, boxed calls by argument name, and that CPU calls still run (and
// record) the blocked kernel.
#include <torch/csrc/jit/frontend/function_schema_parser.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/attention_backend.h"
#include "naive_attention.h"

using namespace attnlab::kernels;
using attnlab::test::max_abs_diff;

namespace {

constexpr auto kCpu = c10::DeviceType::CPU;
constexpr auto kCuda = c10::DeviceType::CUDA;
constexpr auto kBf16 = c10::ScalarType::BFloat16;
constexpr auto kFp16 = c10::ScalarType::Half;
constexpr auto kFp32 = c10::ScalarType::Float;
constexpr auto kFp64 = c10::ScalarType::Double;

AttentionBackend choose(c10::DeviceType device, int64_t window, c10::ScalarType dtype,
                        int64_t head_dim, bool flash_has_window_args) {
  return choose_attention_backend({device, window, dtype, head_dim, flash_has_window_args});
}

// Flash schemas as LibTorch versions declare them (native_functions.yaml).
const char* const kFlashForward_1_13 =
    "aten::_flash_scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor "
    "cum_seq_q, Tensor cum_seq_k, int max_q, int max_k, float dropout_p, bool is_causal) -> Tensor";
const char* const kFlashForward_2_4 =
    "aten::_flash_attention_forward(Tensor query, Tensor key, Tensor value, Tensor? cum_seq_q, "
    "Tensor? cum_seq_k, SymInt max_q, SymInt max_k, float dropout_p, bool is_causal, bool "
    "return_debug_mask, *, float? scale=None) -> (Tensor output, Tensor softmax_logsumexp, Tensor "
    "philox_seed, Tensor philox_offset, Tensor debug_attn_mask)";
const char* const kFlashForward_2_7 =
    "aten::_flash_attention_forward(Tensor query, Tensor key, Tensor value, Tensor? cum_seq_q, "
    "Tensor? cum_seq_k, SymInt max_q, SymInt max_k, float dropout_p, bool is_causal, bool "
    "return_debug_mask, *, float? scale=None, SymInt? window_size_left=None, SymInt? "
    "window_size_right=None, Tensor? seqused_k=None, Tensor? alibi_slopes=None) -> (Tensor "
    "output, Tensor softmax_logsumexp, Tensor rng_state, Tensor unused, Tensor debug_attn_mask)";
const char* const kFlashBackward_2_7 =
    "aten::_flash_attention_backward(Tensor grad_out, Tensor query, Tensor key, Tensor value, "
    "Tensor out, Tensor logsumexp, Tensor cum_seq_q, Tensor cum_seq_k, SymInt max_q, SymInt max_k, "
    "float dropout_p, bool is_causal, Tensor rng_state, Tensor unused, *, float? scale=None, "
    "SymInt? window_size_left=None, SymInt? window_size_right=None) -> (Tensor, Tensor, Tensor)";
const char* const kOnlyLeftWindow =
    "aten::_flash_attention_forward(Tensor query, Tensor key, Tensor value, *, SymInt? "
    "window_size_left=None) -> Tensor";

}  // namespace

TEST_CASE("the backend is a function of device, window, dtype, head dim and flash's schema",
          "[attention][dispatch]") {
  // CPU: always the blocked kernel, whatever the rest.
  for (const auto dtype : {kFp64, kFp32, kBf16, kFp16}) {
    for (const int64_t window : {kDenseWindow, int64_t{0}, int64_t{256}}) {
      CHECK(choose(kCpu, window, dtype, 8, true) == AttentionBackend::kBlocked);
      CHECK(choose(kCpu, window, dtype, 96, false) == AttentionBackend::kBlocked);
    }
  }
  // CUDA dense: LibTorch's SDPA for every dtype and head dim (it picks its own kernel).
  for (const auto dtype : {kFp64, kFp32, kBf16}) {
    CHECK(choose(kCuda, kDenseWindow, dtype, 64, true) == AttentionBackend::kSdpa);
    CHECK(choose(kCuda, kDenseWindow, dtype, 80, false) == AttentionBackend::kSdpa);
  }
  // CUDA windowed, flash with window args: bf16/fp16, head dim a multiple of 8 up to 256.
  CHECK(choose(kCuda, 256, kBf16, 64, true) == AttentionBackend::kFlash);
  CHECK(choose(kCuda, 0, kFp16, 128, true) == AttentionBackend::kFlash);
  CHECK(choose(kCuda, 256, kBf16, 96, true) == AttentionBackend::kFlash);
  CHECK(choose(kCuda, 256, kBf16, 256, true) == AttentionBackend::kFlash);
  // ... otherwise attnlab's kernel where it applies (fp32, or flash without window args).
  CHECK(choose(kCuda, 256, kFp32, 64, true) == AttentionBackend::kAttnlabCuda);
  CHECK(choose(kCuda, 256, kBf16, 64, false) == AttentionBackend::kAttnlabCuda);
  CHECK(choose(kCuda, 7, kFp16, 128, false) == AttentionBackend::kAttnlabCuda);
  // ... and a clear error where neither does.
  CHECK_THROWS_WITH(choose(kCuda, 256, kFp64, 64, true),
                    Catch::Contains("dtype Double and head dim 64") &&
                        Catch::Contains("cast q, k, v to bfloat16"));
  CHECK_THROWS_WITH(
      choose(kCuda, 256, kBf16, 96, false),
      Catch::Contains("head dim 96") && Catch::Contains("has no window_size_left/right arguments"));
  CHECK_THROWS_WITH(choose(kCuda, 256, kFp32, 96, true), Catch::Contains("head dim 96"));
  CHECK_THROWS_AS(choose(kCuda, 256, kBf16, 100, true), std::invalid_argument);
  CHECK_THROWS_AS(choose(kCuda, 256, kFp16, 264, true), std::invalid_argument);
  // Other devices: no backend.
  CHECK_THROWS_WITH(choose(c10::DeviceType::Meta, kDenseWindow, kFp32, 64, true),
                    Catch::Contains("META tensors") && Catch::Contains("CPU or a CUDA device"));
}

TEST_CASE("backend descriptions name the backend and the window", "[attention][dispatch]") {
  CHECK(describe_attention_backend(AttentionBackend::kBlocked, 256) == "blocked (cpu), window 256");
  CHECK(describe_attention_backend(AttentionBackend::kBlocked, kDenseWindow) ==
        "blocked (cpu), dense");
  CHECK(describe_attention_backend(AttentionBackend::kSdpa, kDenseWindow, "flash") ==
        "flash (sdpa), dense");
  CHECK(describe_attention_backend(AttentionBackend::kSdpa, kDenseWindow) == "sdpa, dense");
  CHECK(describe_attention_backend(AttentionBackend::kFlash, 0) == "flash, window 0");
  CHECK(describe_attention_backend(AttentionBackend::kAttnlabCuda, 256) ==
        "attnlab cuda kernel, window 256");
  CHECK(sdpa_kernel_name(0) == "math");
  CHECK(sdpa_kernel_name(1) == "flash");
  CHECK(sdpa_kernel_name(2) == "memory-efficient");
  CHECK(sdpa_kernel_name(3) == "cudnn");
  CHECK(sdpa_kernel_name(9) == "sdpa choice 9");
  CHECK(sdpa_kernel_name(-1) == "sdpa choice -1");
}

TEST_CASE("the flash schema check reads argument names, not versions", "[attention][dispatch]") {
  using torch::jit::parseSchema;
  CHECK_FALSE(flash_schema_has_window_args(parseSchema(kFlashForward_1_13)));
  CHECK_FALSE(flash_schema_has_window_args(parseSchema(kFlashForward_2_4)));
  CHECK_FALSE(flash_schema_has_window_args(parseSchema(kOnlyLeftWindow)));
  CHECK(flash_schema_has_window_args(parseSchema(kFlashForward_2_7)));
  CHECK(flash_schema_has_window_args(parseSchema(kFlashBackward_2_7)));

  // The linked LibTorch: flash ops are found exactly when both schemas take window args.
  auto& dispatcher = c10::Dispatcher::singleton();
  const auto forward = dispatcher.findSchema({"aten::_flash_attention_forward", ""});
  const auto backward = dispatcher.findSchema({"aten::_flash_attention_backward", ""});
  const bool expected = forward && backward && flash_schema_has_window_args(forward->schema()) &&
                        flash_schema_has_window_args(backward->schema());
  INFO("LibTorch " << TORCH_VERSION);
  CHECK(linked_flash_ops().has_value() == expected);
#if TORCH_VERSION_MAJOR < 2
  CHECK_FALSE(linked_flash_ops().has_value());  // 1.13 has no aten::_flash_attention_forward
#endif
}

TEST_CASE("call_by_name fills defaults and names what does not fit", "[attention][dispatch]") {
  const auto add = c10::Dispatcher::singleton().findSchemaOrThrow("aten::add", "Tensor");
  const auto a = torch::randn({3, 5}), b = torch::randn({3, 5});
  // alpha (a keyword argument with default 1) is filled from the schema.
  const auto sum = call_by_name(add, {{"other", b}, {"self", a}});
  REQUIRE(sum.size() == 1);
  CHECK(torch::equal(sum[0].toTensor(), a + b));
  const auto scaled = call_by_name(add, {{"self", a}, {"other", b}, {"alpha", 2.5}});
  CHECK(max_abs_diff(scaled[0].toTensor(), a + 2.5 * b) < 1e-6);
  CHECK_THROWS_WITH(call_by_name(add, {{"self", a}, {"other", b}, {"beta", 1}}),
                    Catch::Contains("aten::add.Tensor has no argument 'beta'") &&
                        Catch::Contains("self, other, alpha"));
  CHECK_THROWS_WITH(call_by_name(add, {{"self", a}}),
                    Catch::Contains("argument 'other' of aten::add.Tensor has no default"));
}

TEST_CASE("CPU calls run the blocked kernel and record it", "[attention][dispatch]") {
  torch::manual_seed(21);
  const auto q = torch::randn({2, 4, 45, 8}), k = torch::randn({2, 2, 45, 8}),
             v = torch::randn({2, 2, 45, 8}), gate = torch::rand({2, 45, 4});
  reset_attention_backends_used();
  CHECK(attention_backends_used().empty());

  const AttentionCall call{q, k, v, gate, 7, 16, 1.0 / std::sqrt(8.0)};
  const auto y = gated_causal_attention(q, k, v, gate, {7, 16, 0.0});
  CHECK(torch::equal(y, blocked_attention(call)));
  CHECK(max_abs_diff(y, attnlab::test::naive_attention(q, k, v, 7, gate)) < 1e-5);
  causal_attention(q, k, v, {kDenseWindow, 64, 0.0});
  causal_attention(q, k, v, {7, 64, 0.0});  // already recorded
  CHECK(attention_backends_used() ==
        std::vector<std::string>{"blocked (cpu), window 7", "blocked (cpu), dense"});
  reset_attention_backends_used();
  CHECK(attention_backends_used().empty());

  // Tensors on a device no backend serves: the entry point names itself and the device.
  const auto meta = torch::empty({1, 2, 4, 8}, torch::Device(torch::kMeta));
  CHECK_THROWS_WITH(causal_attention(meta, meta, meta, {}),
                    Catch::Contains("attnlab::kernels::causal_attention: no attention backend "
                                    "for META tensors"));
  CHECK(attention_backends_used().empty());
}

TEST_CASE("the backend record is thread-safe", "[attention][dispatch]") {
  reset_attention_backends_used();
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < 8; ++t) {
    threads.emplace_back([t] {
      const auto x = torch::randn({1, 2, 12, 4});
      for (int64_t i = 0; i < 20; ++i) causal_attention(x, x, x, {(t + i) % 4, 64, 0.0});
    });
  }
  for (auto& thread : threads) thread.join();
  auto used = attention_backends_used();
  CHECK(used.size() == 4);
  std::sort(used.begin(), used.end());
  CHECK(used == std::vector<std::string>{"blocked (cpu), window 0", "blocked (cpu), window 1",
                                         "blocked (cpu), window 2", "blocked (cpu), window 3"});
  reset_attention_backends_used();
}
