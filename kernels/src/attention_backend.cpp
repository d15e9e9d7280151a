// The backend choice and its descriptions, and boxed operator calls by argument name
// (see attention_backend.h). Device-independent: compiled and tested in every build.
#include "attnlab/kernels/attention_backend.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <string>

namespace attnlab::kernels {
namespace {

bool is_half_or_bfloat16(c10::ScalarType dtype) {
  return dtype == c10::ScalarType::Half || dtype == c10::ScalarType::BFloat16;
}

// What LibTorch's flash attention takes (its sdp_utils checks): fp16/bf16, D % 8 == 0, D <= 256.
bool flash_takes(c10::ScalarType dtype, int64_t head_dim) {
  return is_half_or_bfloat16(dtype) && head_dim % 8 == 0 && head_dim <= 256;
}

// What attnlab's CUDA kernel takes (windowed_attention.cuh).
bool attnlab_cuda_takes(c10::ScalarType dtype, int64_t head_dim) {
  return (dtype == c10::ScalarType::Float || is_half_or_bfloat16(dtype)) &&
         (head_dim == 64 || head_dim == 128);
}

std::string window_text(int64_t window) {
  return window == kDenseWindow ? "dense" : "window " + std::to_string(window);
}

std::string no_windowed_backend(const BackendQuery& q) {
  return "no CUDA backend for windowed attention (window " + std::to_string(q.window) +
         ") with dtype " + c10::toString(q.dtype) + " and head dim " + std::to_string(q.head_dim) +
         ": LibTorch's flash attention takes bf16/fp16 with a head dim that is a multiple of 8 up "
         "to 256" +
         (q.flash_has_window_args ? ""
                                  : " (and this LibTorch's aten::_flash_attention_forward has no "
                                    "window_size_left/right arguments)") +
         ", attnlab's CUDA kernel takes fp32/fp16/bf16 with head dim 64 or 128; cast q, k, v "
         "to bfloat16 or use head dim 64 or 128";
}

std::string op_name(const c10::FunctionSchema& schema) {
  return schema.overload_name().empty() ? schema.name()
                                        : schema.name() + "." + schema.overload_name();
}

std::string argument_names(const c10::FunctionSchema& schema) {
  std::string names;
  for (const auto& arg : schema.arguments()) names += (names.empty() ? "" : ", ") + arg.name();
  return names;
}

// The boxed stack for schema: each argument from args by name, else its default.
torch::jit::Stack stack_by_name(const c10::FunctionSchema& schema, const NamedArgs& args) {
  for (const auto& [name, value] : args) {
    if (!schema.argumentIndexWithName(name)) {
      throw std::invalid_argument("call_by_name: " + op_name(schema) + " has no argument '" + name +
                                  "' (its arguments: " + argument_names(schema) +
                                  "); this LibTorch's schema differs from the one attnlab expects");
    }
  }
  torch::jit::Stack stack;
  for (const auto& arg : schema.arguments()) {
    const auto given = std::find_if(args.begin(), args.end(),
                                    [&](const auto& named) { return named.first == arg.name(); });
    if (given != args.end()) {
      stack.push_back(given->second);
    } else if (arg.default_value()) {
      stack.push_back(*arg.default_value());
    } else {
      throw std::invalid_argument("call_by_name: argument '" + arg.name() + "' of " +
                                  op_name(schema) + " has no default; pass it by name");
    }
  }
  return stack;
}

}  // namespace

AttentionBackend choose_attention_backend(const BackendQuery& query) {
  if (query.device == c10::DeviceType::CPU) return AttentionBackend::kBlocked;
  if (query.device != c10::DeviceType::CUDA) {
    throw std::invalid_argument("no attention backend for " + c10::DeviceTypeName(query.device) +
                                " tensors; move q, k and v to the CPU or a CUDA device");
  }
  if (query.window == kDenseWindow) return AttentionBackend::kSdpa;
  if (query.flash_has_window_args && flash_takes(query.dtype, query.head_dim)) {
    return AttentionBackend::kFlash;
  }
  if (attnlab_cuda_takes(query.dtype, query.head_dim)) return AttentionBackend::kAttnlabCuda;
  throw std::invalid_argument(no_windowed_backend(query));
}

std::string describe_attention_backend(AttentionBackend backend, int64_t window,
                                       const std::string& sdpa_kernel) {
  switch (backend) {
    case AttentionBackend::kBlocked:
      return "blocked (cpu), " + window_text(window);
    case AttentionBackend::kSdpa:
      return (sdpa_kernel.empty() ? "sdpa" : sdpa_kernel + " (sdpa)") + ", " + window_text(window);
    case AttentionBackend::kFlash:
      return "flash, " + window_text(window);
    case AttentionBackend::kAttnlabCuda:
      return "attnlab cuda kernel, " + window_text(window);
  }
  throw std::invalid_argument("describe_attention_backend: unknown backend " +
                              std::to_string(static_cast<int>(backend)));
}

std::string sdpa_kernel_name(int64_t fused_sdp_choice) {
  static const char* const kNames[] = {"math", "flash", "memory-efficient", "cudnn",
                                       "overrideable"};
  if (fused_sdp_choice < 0 || fused_sdp_choice >= static_cast<int64_t>(std::size(kNames))) {
    return "sdpa choice " + std::to_string(fused_sdp_choice);
  }
  return kNames[fused_sdp_choice];
}

std::vector<c10::IValue> call_by_name(const c10::OperatorHandle& op, const NamedArgs& args) {
  torch::jit::Stack stack = stack_by_name(op.schema(), args);
  op.callBoxed(&stack);
  return stack;
}

}  // namespace attnlab::kernels
