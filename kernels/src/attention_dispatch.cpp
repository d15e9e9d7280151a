// causal_attention / gated_causal_attention (attention.h): checks the inputs, picks the backend
// for their device (choose_attention_backend), runs it (CPU: blocked_attention.cpp; CUDA:
// cuda_backends.h) and records which backend ran.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>

#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/attention_backend.h"
#include "cuda_backends.h"

namespace attnlab::kernels {
namespace {

[[noreturn]] void fail(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string("attnlab::kernels::") + fn + ": " + what);
}

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

void check_qkv(const char* fn, const torch::Tensor& q, const torch::Tensor& k,
               const torch::Tensor& v) {
  if (!q.defined() || !k.defined() || !v.defined()) fail(fn, "q, k and v must be defined tensors");
  if (q.dim() != 4) fail(fn, "q_BHTD must have 4 dims [B, H, T, D], got " + shape_str(q));
  if (k.dim() != 4) fail(fn, "k_BKTD must have 4 dims [B, K, T, D], got " + shape_str(k));
  if (!k.sizes().equals(v.sizes())) {
    fail(fn, "k_BKTD and v_BKTD must have the same shape, got " + shape_str(k) + " and " +
                 shape_str(v));
  }
  if (!q.is_floating_point()) fail(fn, "q, k and v must be floating point");
  if (k.scalar_type() != q.scalar_type() || v.scalar_type() != q.scalar_type()) {
    fail(fn, "q, k and v must have the same dtype");
  }
  if (k.device() != q.device() || v.device() != q.device())
    fail(fn, "q, k and v must be on the same device");
  if (k.size(0) != q.size(0) || k.size(2) != q.size(2) || k.size(3) != q.size(3)) {
    fail(fn, "k_BKTD " + shape_str(k) + " must match q_BHTD " + shape_str(q) + " in B, T and D");
  }
  if (k.size(1) == 0 || q.size(1) % k.size(1) != 0) {
    fail(fn, "query heads (" + std::to_string(q.size(1)) + ") must be a multiple of kv heads (" +
                 std::to_string(k.size(1)) + ")");
  }
}

void check_gate(const char* fn, const torch::Tensor& q, const torch::Tensor& gate) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2);
  if (!gate.defined() || gate.dim() != 3 || gate.size(0) != B || gate.size(1) != T ||
      gate.size(2) != H) {
    fail(fn, "gate_BTH must be [B, T, H] = [" + std::to_string(B) + ", " + std::to_string(T) +
                 ", " + std::to_string(H) + "], got " +
                 (gate.defined() ? shape_str(gate) : "undefined"));
  }
  if (gate.device() != q.device()) fail(fn, "gate_BTH must be on the same device as q");
}

void check_params(const char* fn, const AttentionParams& p) {
  if (p.window < 0 && p.window != kDenseWindow) {
    fail(fn, "window must be >= 0 or kDenseWindow, got " + std::to_string(p.window));
  }
  if (p.block_size <= 0) fail(fn, "block_size must be > 0, got " + std::to_string(p.block_size));
  if (p.scale < 0)
    fail(fn, "scale must be > 0 (or 0 for 1/sqrt(D)), got " + std::to_string(p.scale));
}

// The record of attention_backends_used.
struct BackendLog {
  std::mutex mutex;
  std::vector<std::string> used;
};

BackendLog& backend_log() {
  static BackendLog log;
  return log;
}

void record(const std::string& description) {
  auto& log = backend_log();
  const std::lock_guard<std::mutex> lock(log.mutex);
  if (std::find(log.used.begin(), log.used.end(), description) == log.used.end()) {
    log.used.push_back(description);
  }
}

AttentionBackend choose(const char* fn, const AttentionCall& call) {
  const BackendQuery query{call.q_BHTD.device().type(), call.window, call.q_BHTD.scalar_type(),
                           call.q_BHTD.size(3), linked_flash_ops().has_value()};
  try {
    return choose_attention_backend(query);
  } catch (const std::invalid_argument& e) {
    fail(fn, e.what());
  }
}

// The blocked kernel computes in fp32 itself, softmax statistics included: autocast must not
// recast its matmuls to bf16 (its backward runs outside autocast anyway).
torch::Tensor blocked_without_autocast(const AttentionCall& call) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  return blocked_attention(call);
}

torch::Tensor run(const char* fn, const torch::Tensor& q, const torch::Tensor& k,
                  const torch::Tensor& v, const torch::Tensor* gate, const AttentionParams& p) {
  check_qkv(fn, q, k, v);
  if (gate) check_gate(fn, q, *gate);
  check_params(fn, p);
  if (q.size(2) == 0) return torch::empty_like(q);
  const double scale = p.scale > 0 ? p.scale : 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  const AttentionCall call{q, k, v, gate ? *gate : torch::Tensor(), p.window, p.block_size, scale};
  const AttentionBackend backend = choose(fn, call);
  const BackendResult result = backend == AttentionBackend::kBlocked
                                   ? BackendResult{blocked_without_autocast(call), ""}
                                   : run_cuda_backend(backend, call);
  record(describe_attention_backend(backend, call.window, result.sdpa_kernel));
  return result.y_BHTD;
}

}  // namespace

torch::Tensor causal_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                               const torch::Tensor& v_BKTD, const AttentionParams& params) {
  return run("causal_attention", q_BHTD, k_BKTD, v_BKTD, nullptr, params);
}

torch::Tensor gated_causal_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                     const torch::Tensor& v_BKTD, const torch::Tensor& gate_BTH,
                                     const AttentionParams& params) {
  return run("gated_causal_attention", q_BHTD, k_BKTD, v_BKTD, &gate_BTH, params);
}

std::vector<std::string> attention_backends_used() {
  auto& log = backend_log();
  const std::lock_guard<std::mutex> lock(log.mutex);
  return log.used;
}

void reset_attention_backends_used() {
  auto& log = backend_log();
  const std::lock_guard<std::mutex> lock(log.mutex);
  log.used.clear();
}

}  // namespace attnlab::kernels
