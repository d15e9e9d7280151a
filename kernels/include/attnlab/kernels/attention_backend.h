// How causal_attention / gated_causal_attention (attention.h) choose a backend, and the
// device-independent pieces of the CUDA paths, declared here so the CPU tests reach them:
// the choice as a pure function, the run-time check of LibTorch's flash-attention schema, the
// boxed call of an operator by argument name, and the flash autograd wrapper built on it.
// Plugins call attention.h; this header is for the dispatcher (attention_dispatch.cpp) and tests.
//
// Shape legend as in attention.h: B batch, H query heads, K kv heads, T length, D head dim.
#pragma once
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "attnlab/kernels/window.h"

namespace attnlab::kernels {

enum class AttentionBackend {
  kBlocked,      // blocked_attention.cpp, CPU tensors
  kSdpa,         // at::scaled_dot_product_attention(is_causal, enable_gqa): dense, CUDA
  kFlash,        // aten::_flash_attention_forward/_backward with window_size_left: windowed, CUDA
  kAttnlabCuda,  // kernels/cuda/windowed_attention.cu: windowed, CUDA, head dim 64/128
};

struct BackendQuery {
  c10::DeviceType device = c10::DeviceType::CPU;
  int64_t window = kDenseWindow;
  c10::ScalarType dtype = c10::ScalarType::Float;
  int64_t head_dim = 0;
  bool flash_has_window_args = false;  // the linked flash ops take window sizes (linked_flash_ops)
};

// CPU → kBlocked. CUDA, dense → kSdpa. CUDA, windowed → kFlash for bf16/fp16 with a head dim
// that is a multiple of 8 up to 256 when flash takes window args, else kAttnlabCuda for
// fp32/fp16/bf16 with head dim 64 or 128. Throws std::invalid_argument naming what no backend
// supports (another device type; a windowed dtype or head dim neither CUDA backend takes).
AttentionBackend choose_attention_backend(const BackendQuery& query);

// "blocked (cpu), window 256", "flash (sdpa), dense" (sdpa_kernel: the kernel SDPA picked, see
// sdpa_kernel_name; "sdpa, dense" when empty), "flash, window 256",
// "attnlab cuda kernel, window 256".
std::string describe_attention_backend(AttentionBackend backend, int64_t window,
                                       const std::string& sdpa_kernel = "");

// The kernel a value of aten::_fused_sdp_choice (LibTorch's SDPBackend) names: 0 "math",
// 1 "flash", 2 "memory-efficient", 3 "cudnn", 4 "overrideable"; others "sdpa choice N".
std::string sdpa_kernel_name(int64_t fused_sdp_choice);

// One checked call of causal_attention: q_BHTD [B, H, T, D], k_BKTD and v_BKTD [B, K, T, D]
// of one dtype and device, gate_BTH [B, T, H] or undefined (no gate), scale resolved (> 0).
struct AttentionCall {
  torch::Tensor q_BHTD, k_BKTD, v_BKTD;
  torch::Tensor gate_BTH;
  int64_t window = kDenseWindow;
  int64_t block_size = 64;
  double scale = 0.0;
};

// The CPU backend (blocked_attention.cpp): y_BHTD, gated when call.gate_BTH is defined.
torch::Tensor blocked_attention(const AttentionCall& call);

// ---- Boxed operator calls by argument name ----

using NamedArgs = std::vector<std::pair<std::string, c10::IValue>>;

// Calls op through the boxed dispatcher with its arguments taken by name from args, in the
// order of op's schema; arguments not given take their schema default. Returns the op's
// outputs in schema order. Throws std::invalid_argument naming an argument of args the schema
// lacks or a schema argument without default that args lacks — so a call survives LibTorch
// versions that add defaulted arguments, and fails clearly on one that renames a used one.
std::vector<c10::IValue> call_by_name(const c10::OperatorHandle& op, const NamedArgs& args);

// ---- LibTorch's flash attention with a window ----

// The forward and backward flash operators (aten::_flash_attention_forward/_backward, or
// stand-ins with their schemas in tests).
struct FlashOps {
  c10::OperatorHandle forward;
  c10::OperatorHandle backward;
};

// Whether a flash schema takes both window_size_left and window_size_right (by name).
bool flash_schema_has_window_args(const c10::FunctionSchema& schema);

// The linked LibTorch's aten::_flash_attention_forward/_backward when both are registered
// and both take window args (LibTorch 2.5 on); looked up once through c10::Dispatcher.
const std::optional<FlashOps>& linked_flash_ops();

// Windowed causal attention through ops (window_size_left = call.window, window_size_right
// = 0), differentiable: returns the ungated y_BHTD; the backward passes the forward's
// logsumexp and random-state outputs to ops.backward by name. call.gate_BTH is ignored.
torch::Tensor flash_windowed_attention(const AttentionCall& call, const FlashOps& ops);

}  // namespace attnlab::kernels
