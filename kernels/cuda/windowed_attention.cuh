// CUDA causal windowed attention with grouped-query heads and an optional fused per-head
// gate: the GPU counterpart of causal_attention / gated_causal_attention (attention.h) for
// head_dim 64 and 128. Flash-attention style: the forward keeps a running softmax per query
// row and writes O and the logsumexp; the backward recomputes the probabilities from the
// logsumexp. Only tiles inside the window are visited (windowed_attention_tiles.cuh), so the
// work is O(T·w). Inputs fp32, fp16 or bf16; every sum accumulates in fp32. fp16 and bf16 run
// on tensor cores (mma.sync, sm_80 or newer), fp32 on scalar FMAs (windowed_attention.cu).
//
// The kernels see a plain params struct (pointers, strides, sizes), never a tensor; the
// launchers check it and return a one-line error ("" on success). No LibTorch here.
//
// Shape legend: B batch, H query heads, K key/value heads (H % K == 0; query head h reads kv
// head h / (H / K)), T sequence length, D head dim. Window convention (window.h): query i sees
// key j iff i - window <= j <= i; window = -1 (kDenseWindow) is dense causal attention.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

namespace attnlab::kernels::cuda {

enum class WindowedAttentionDtype { kFloat32, kFloat16, kBFloat16 };

// A device tensor as a pointer and element strides. [B, heads, T, D] tensors use all three
// strides; the gate [B, T, H] uses head_stride for its H axis. The D axis must be contiguous.
struct StridedTensor {
  void* data = nullptr;
  int64_t batch_stride = 0;
  int64_t head_stride = 0;
  int64_t seq_stride = 0;
};

struct WindowedAttentionParams {
  // Forward inputs (dtype).
  StridedTensor q;     // q_BHTD
  StridedTensor k, v;  // k_BKTD, v_BKTD
  StridedTensor gate;  // gate_BTH, or data == nullptr for no gate
  // Forward outputs (dtype), read again by the backward.
  StridedTensor o;       // o_BHTD, the ungated attention output
  StridedTensor y;       // y_BHTD = o·gate, written only with a gate
  float* lse = nullptr;  // lse_BHT, contiguous fp32 row logsumexp of the scaled scores
  // Backward (dtype): dy is the gradient of the returned output (y with a gate, o without).
  StridedTensor dy;
  StridedTensor dq, dk, dv;  // like q, k, v
  StridedTensor dgate;       // like gate, written only with a gate
  float* delta = nullptr;    // workspace [B, H, T], contiguous fp32: rowsum(dO ∘ O)
  // Sizes.
  int64_t B = 0, H = 0, K = 0, T = 0, D = 0;
  int64_t window = -1;  // >= 0, or -1 for dense causal
  float scale = 0.0f;   // softmax scale, > 0 (usually 1/sqrt(D))
  WindowedAttentionDtype dtype = WindowedAttentionDtype::kBFloat16;
};

// Writes o (and y with a gate) and lse. Returns "" or a one-line error naming the bad field.
std::string launch_windowed_attention_fwd(const WindowedAttentionParams& params,
                                          cudaStream_t stream);

// Reads q, k, v, gate, o, y, lse, dy; writes dq, dk, dv (and dgate with a gate), using delta as
// workspace. Every output is overwritten, not accumulated into. Returns "" or a one-line error.
std::string launch_windowed_attention_bwd(const WindowedAttentionParams& params,
                                          cudaStream_t stream);

}  // namespace attnlab::kernels::cuda
