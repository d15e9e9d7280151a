// The CUDA backends of the attention dispatch (cuda_backends.h). Compiled only in a CUDA build
// (ATTNLAB_WITH_CUDA), which requires LibTorch >= 2.5 for scaled_dot_product_attention's
// enable_gqa. The gate is a separate multiply after SDPA and flash, fused into attnlab's kernel.
#include "cuda_backends.h"

#include <stdexcept>
#include <string>

#include "windowed_attention_autograd.h"

namespace attnlab::kernels {
namespace {

// y_BHTD · gate_BTH broadcast over D (y unchanged without a gate).
torch::Tensor apply_gate(const torch::Tensor& y_BHTD, const torch::Tensor& gate_BTH) {
  if (!gate_BTH.defined()) return y_BHTD;
  return y_BHTD * gate_BTH.to(y_BHTD.scalar_type()).permute({0, 2, 1}).unsqueeze(-1);
}

// The kernel SDPA picks for this call (LibTorch's own choice function, same arguments). Only
// a description: a LibTorch whose choice function differs gets "sdpa" rather than an error.
std::string sdpa_kernel(const AttentionCall& call) {
  try {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow("aten::_fused_sdp_choice", "");
    const auto choice = call_by_name(op, {{"query", call.q_BHTD},
                                          {"key", call.k_BKTD},
                                          {"value", call.v_BKTD},
                                          {"is_causal", true},
                                          {"scale", call.scale},
                                          {"enable_gqa", true}});
    return sdpa_kernel_name(choice.at(0).toInt());
  } catch (const std::exception&) {
    return "";
  }
}

torch::Tensor sdpa(const AttentionCall& call) {
  return at::scaled_dot_product_attention(call.q_BHTD, call.k_BKTD, call.v_BKTD, {}, 0.0,
                                          /*is_causal=*/true, call.scale, /*enable_gqa=*/true);
}

}  // namespace

BackendResult run_cuda_backend(AttentionBackend backend, const AttentionCall& call) {
  switch (backend) {
    case AttentionBackend::kSdpa:
      return {apply_gate(sdpa(call), call.gate_BTH), sdpa_kernel(call)};
    case AttentionBackend::kFlash:
      return {apply_gate(flash_windowed_attention(call, linked_flash_ops().value()), call.gate_BTH),
              ""};
    case AttentionBackend::kAttnlabCuda:
      return {cuda::windowed_attention(call), ""};
    case AttentionBackend::kBlocked:
      break;
  }
  throw std::invalid_argument("run_cuda_backend: backend " +
                              describe_attention_backend(backend, call.window) +
                              " is not a CUDA backend");
}

}  // namespace attnlab::kernels
