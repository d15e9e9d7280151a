// The CUDA backends of the attention dispatch on a GPU: in a CUDA build (ATTNLAB_TEST_CUDA) with
// a visible device, SDPA, flash with a window and attnlab's kernel (dispatched, and the kernel's
// autograd wrapper directly for every dtype) against the naive reference, forward and every
// gradient, by flash attention's rule: the error against fp64 is at most 2× that of the same
// reference computed in the input dtype on the GPU, plus 1e-5 × max|reference|; and the record
// names the backends that ran. Elsewhere each case warns that it did not run, and passes; but in
// a CUDA build on a machine with the NVIDIA driver loaded (a GPU is there, tests/cuda/
// nvidia_driver.h), LibTorch seeing no device is a failure, e.g. a driver older than the runtime.
#include <torch/torch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/attention_backend.h"
#include "naive_attention.h"
#ifdef ATTNLAB_TEST_CUDA
#include "../cuda/nvidia_driver.h"
#include "windowed_attention_autograd.h"
#endif

using namespace attnlab::kernels;
using attnlab::test::max_abs_diff;

namespace {

bool cuda_ready() {
#ifdef ATTNLAB_TEST_CUDA
  if (torch::cuda::is_available()) return true;
  if (attnlab::test::nvidia_driver_loaded())
    FAIL("the NVIDIA driver is loaded but LibTorch sees no CUDA device (driver older than the "
         "CUDA runtime?)");
  WARN("no NVIDIA driver, no GPU: the GPU attention checks did not run");
#else
  WARN("a build without CUDA: the GPU attention checks did not run");
#endif
  return false;
}

struct Config {
  int64_t D, window;
  torch::Dtype dtype;
  bool gated;
};

// q, k, v (and the gate) -> y_BHTD, for a window.
using Attention = std::function<torch::Tensor(const std::vector<torch::Tensor>&, int64_t)>;

torch::Tensor naive(const std::vector<torch::Tensor>& in, int64_t window) {
  return attnlab::test::naive_attention(in[0], in[1], in[2], window,
                                        in.size() > 3 ? in[3] : torch::Tensor());
}

torch::Tensor dispatched(const std::vector<torch::Tensor>& in, int64_t window) {
  const AttentionParams params{window, 64, 0.0};
  return in.size() > 3 ? gated_causal_attention(in[0], in[1], in[2], in[3], params)
                       : causal_attention(in[0], in[1], in[2], params);
}

// y and the gradient of every input for dy, as fp64 CPU tensors: attention run on leaf copies
// of inputs in dtype on device.
std::vector<torch::Tensor> outputs(const Attention& attention,
                                   const std::vector<torch::Tensor>& inputs,
                                   const torch::Tensor& dy, int64_t window, torch::Dtype dtype,
                                   torch::Device device) {
  std::vector<torch::Tensor> leaves;
  for (const auto& t : inputs) leaves.push_back(t.to(device, dtype).requires_grad_(true));
  const auto y = attention(leaves, window);
  auto result = torch::autograd::grad({y}, leaves, {dy.to(device, dtype)});
  result.insert(result.begin(), y);
  for (auto& t : result) t = t.to(torch::kCPU, torch::kDouble);
  return result;
}

void check_rule(const Config& c, const Attention& attention) {
  INFO("D=" << c.D << " w=" << c.window << " dtype=" << c10::toString(c.dtype)
            << (c.gated ? " gated" : ""));
  const int64_t B = 2, H = 4, K = 2, T = 300;
  const auto round = [&](const torch::Tensor& t) { return t.to(c.dtype).to(torch::kDouble); };
  std::vector<torch::Tensor> inputs = {round(torch::randn({B, H, T, c.D})),
                                       round(torch::randn({B, K, T, c.D})),
                                       round(torch::randn({B, K, T, c.D}))};
  if (c.gated) inputs.push_back(round(torch::rand({B, T, H}) * 0.9 + 0.05));
  const auto dy = round(torch::randn({B, H, T, c.D}));
  const torch::Device gpu(torch::kCUDA);
  const auto got = outputs(attention, inputs, dy, c.window, c.dtype, gpu);
  const auto ref = outputs(naive, inputs, dy, c.window, torch::kDouble, torch::kCPU);
  const auto ref_low = outputs(naive, inputs, dy, c.window, c.dtype, gpu);
  const char* names[] = {"y", "dq", "dk", "dv", "dgate"};
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = max_abs_diff(got[i], ref[i]),
                 bound = 2 * max_abs_diff(ref_low[i], ref[i]) +
                         1e-5 * ref[i].abs().max().item<double>();
    INFO(names[i] << ": error " << err << ", bound " << bound);
    CHECK(err <= bound);
  }
}

bool recorded(const std::string& description) {
  const auto used = attention_backends_used();
  return std::find(used.begin(), used.end(), description) != used.end();
}

}  // namespace

TEST_CASE("CUDA tensors run SDPA, flash or attnlab's kernel, each matching the reference",
          "[attention][cuda]") {
  if (!cuda_ready()) return;
  torch::manual_seed(17);
  reset_attention_backends_used();
  for (const auto dtype : {torch::kBFloat16, torch::kHalf, torch::kFloat}) {
    for (const int64_t window : {kDenseWindow, int64_t{64}}) {
      for (const bool gated : {false, true}) check_rule({64, window, dtype, gated}, dispatched);
    }
  }
  check_rule({128, 100, torch::kFloat, true}, dispatched);
  const auto used = attention_backends_used();
  INFO("recorded: " << Catch::Detail::stringify(used));
  CHECK(std::any_of(used.begin(), used.end(), [](const std::string& d) {
    return d.find("(sdpa), dense") != std::string::npos;
  }));
  CHECK(recorded(linked_flash_ops() ? "flash, window 64" : "attnlab cuda kernel, window 64"));
  CHECK(recorded("attnlab cuda kernel, window 100"));
  CHECK_FALSE(recorded("blocked (cpu), window 64"));
}

#ifdef ATTNLAB_TEST_CUDA
TEST_CASE("attnlab's CUDA kernel through its autograd wrapper matches the reference",
          "[attention][cuda]") {
  if (!cuda_ready()) return;
  torch::manual_seed(23);
  for (const auto dtype : {torch::kBFloat16, torch::kHalf, torch::kFloat}) {
    for (const int64_t D : {64, 128}) {
      for (const bool gated : {false, true}) {
        check_rule({D, 37, dtype, gated}, [D](const std::vector<torch::Tensor>& in, int64_t w) {
          const AttentionCall call{in[0],
                                   in[1],
                                   in[2],
                                   in.size() > 3 ? in[3] : torch::Tensor(),
                                   w,
                                   64,
                                   1.0 / std::sqrt(static_cast<double>(D))};
          return cuda::windowed_attention(call);
        });
      }
    }
  }
}
#endif
