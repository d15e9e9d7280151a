// `attnlab bench attention`: one attention op (a plugin's variant, or textbook dense attention
// that materialises the [B, H, T, T] scores) timed forward and forward+backward on random
// inputs on the CPU or a GPU, each measurement in a fresh process so its peak memory is its own.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "attnlab/plugin/registry.h"

namespace attnlab::bench {

struct AttentionShape {
  int64_t batch = 1, heads = 12, kv_heads = 12, head_dim = 64;
  torch::Dtype dtype = torch::kFloat;
  int repeats = 3;  // timed steps after one warm-up step; the median is reported
  torch::Device device = torch::kCPU;  // where the inputs and the op live (checked already)
};

// What one row measures: a plugin's variant (default options), or with `naive` the textbook
// formula (FLOPs counted as the plugin's, which should be dense).
struct AttentionSubject {
  std::string name;
  const plugin::LoadedPlugin* plugin = nullptr;
  bool naive = false;
};

struct AttentionRow {
  double fwd_ms = 0, fwdbwd_ms = 0;            // median step times
  double fwd_gflops = 0, fwdbwd_gflops = 0;    // from the plugin's FLOPs count
  // Peak memory above what was in use after warm-up: the resident set on the CPU, the CUDA
  // allocator's live tensors on a GPU.
  double fwd_extra_mib = 0, fwdbwd_extra_mib = 0;
  double peak_mib = 0;      // fwd+bwd peak: the process's VmHWM, or the allocator's live tensors
  double reserved_mib = 0;  // fwd+bwd peak the CUDA allocator reserved (0 on the CPU)
  std::string backend;      // kernels::attention_backends_used() of the fwd+bwd process
};

// softmax(q kᵀ/√D + causal mask) v with the full score matrix, through plain autograd.
torch::Tensor naive_dense_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                    const torch::Tensor& v_BKTD);

// Measures `subject` at sequence length T (forward, then forward+backward, each in a fresh
// process).
AttentionRow bench_attention_row(const AttentionSubject& subject, int64_t T,
                                 const AttentionShape& shape);

}  // namespace attnlab::bench
