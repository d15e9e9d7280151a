// The autograd wrapper of windowed_attention.cu's launchers (see windowed_attention_autograd.h).
// The forward saves q, k, v, the gate, the ungated output o and the fp32 logsumexp; the backward
// hands them and dy to the backward launcher. Tensors reach the kernels as pointers and element
// strides (only the head-dim axis must be contiguous), on LibTorch's current stream.
#include "windowed_attention_autograd.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/csrc/autograd/custom_function.h>

#include <stdexcept>
#include <string>

#include "windowed_attention.cuh"

namespace attnlab::kernels::cuda {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

WindowedAttentionDtype kernel_dtype(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Float:
      return WindowedAttentionDtype::kFloat32;
    case c10::ScalarType::Half:
      return WindowedAttentionDtype::kFloat16;
    case c10::ScalarType::BFloat16:
      return WindowedAttentionDtype::kBFloat16;
    default:
      break;
  }
  throw std::invalid_argument(std::string("attnlab::kernels::cuda::windowed_attention: dtype ") +
                              c10::toString(dtype) +
                              " is not supported by attnlab's CUDA kernel; use float32, float16 "
                              "or bfloat16");
}

// t with a unit-stride last (head-dim) axis, as the kernels read it.
torch::Tensor unit_stride_last(const torch::Tensor& t) {
  return t.stride(-1) == 1 ? t : t.contiguous();
}

// A [B, heads, T, D] tensor for the kernels.
StridedTensor strided_BNTD(const torch::Tensor& t) {
  return {t.data_ptr(), t.stride(0), t.stride(1), t.stride(2)};
}

// A [B, T, H] gate: head_stride is its H axis, seq_stride its T axis.
StridedTensor strided_BTH(const torch::Tensor& gate) {
  return {gate.data_ptr(), gate.stride(0), gate.stride(2), gate.stride(1)};
}

// What forward and backward pass alike: the inputs, the logsumexp, sizes, window and scale.
WindowedAttentionParams input_params(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& gate,
                                     const torch::Tensor& lse, int64_t window, double scale) {
  WindowedAttentionParams p;
  p.q = strided_BNTD(q);
  p.k = strided_BNTD(k);
  p.v = strided_BNTD(v);
  if (gate.defined()) p.gate = strided_BTH(gate);
  p.lse = lse.data_ptr<float>();
  p.B = q.size(0);
  p.H = q.size(1);
  p.K = k.size(1);
  p.T = q.size(2);
  p.D = q.size(3);
  p.window = window;
  p.scale = static_cast<float>(scale);
  p.dtype = kernel_dtype(q.scalar_type());
  return p;
}

void check_launch(const std::string& error) {
  if (!error.empty()) {
    throw std::runtime_error("attnlab::kernels::cuda::windowed_attention: " + error);
  }
}

cudaStream_t current_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

class WindowedAttentionFunction : public torch::autograd::Function<WindowedAttentionFunction> {
 public:
  // gate_BTH undefined: no gate. Returns y_BHTD (o_BHTD without a gate).
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q_BHTD,
                               const torch::Tensor& k_BKTD, const torch::Tensor& v_BKTD,
                               const torch::Tensor& gate_BTH, int64_t window, double scale) {
    const c10::cuda::CUDAGuard device(q_BHTD.device());
    const auto q = unit_stride_last(q_BHTD), k = unit_stride_last(k_BKTD),
               v = unit_stride_last(v_BKTD);
    const auto o = torch::empty(q.sizes(), q.options());
    const auto y = gate_BTH.defined() ? torch::empty_like(o) : o;
    const auto lse =
        torch::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(torch::kFloat));
    auto p = input_params(q, k, v, gate_BTH, lse, window, scale);
    p.o = strided_BNTD(o);
    if (gate_BTH.defined()) p.y = strided_BNTD(y);
    check_launch(launch_windowed_attention_fwd(p, current_stream()));
    ctx->save_for_backward({q, k, v, gate_BTH, o, lse});
    ctx->saved_data["window"] = window;
    ctx->saved_data["scale"] = scale;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &gate = saved[3], &o = saved[4],
               &lse = saved[5];
    const c10::cuda::CUDAGuard device(q.device());
    const auto dy = unit_stride_last(grads[0]);
    const auto dq = torch::empty(q.sizes(), q.options()), dk = torch::empty(k.sizes(), k.options()),
               dv = torch::empty(v.sizes(), v.options()), delta = torch::empty_like(lse);
    const auto dgate =
        gate.defined() ? torch::empty(gate.sizes(), gate.options()) : torch::Tensor();
    auto p = input_params(q, k, v, gate, lse, ctx->saved_data["window"].toInt(),
                          ctx->saved_data["scale"].toDouble());
    p.o = strided_BNTD(o);
    p.dy = strided_BNTD(dy);
    p.dq = strided_BNTD(dq);
    p.dk = strided_BNTD(dk);
    p.dv = strided_BNTD(dv);
    if (gate.defined()) p.dgate = strided_BTH(dgate);
    p.delta = delta.data_ptr<float>();
    check_launch(launch_windowed_attention_bwd(p, current_stream()));
    return {dq, dk, dv, dgate, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor windowed_attention(const AttentionCall& call) {
  const auto gate_BTH =
      call.gate_BTH.defined() ? call.gate_BTH.to(call.q_BHTD.scalar_type()) : torch::Tensor();
  return WindowedAttentionFunction::apply(call.q_BHTD, call.k_BKTD, call.v_BKTD, gate_BTH,
                                          call.window, call.scale);
}

}  // namespace attnlab::kernels::cuda
