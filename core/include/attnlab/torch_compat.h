// The differences between the LibTorch versions attnlab builds against (Debian's 1.13 on CPU,
// 2.x on GPU machines), in one place. Include it instead of spelling a version-specific name.
#pragma once
#include <torch/version.h>

#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <torch/csrc/autograd/function_hook.h>

// c10d's Gloo declarations sit behind USE_C10D_GLOO, which LibTorch's CMake config defines
// when its libtorch_cpu contains them (Debian's 1.13 and the 2.x builds do).
#ifndef USE_C10D_GLOO
#error "this LibTorch was built without c10d's Gloo backend; attnlab needs it (see docs/DISTRIBUTED.md)"
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <functional>

namespace attnlab::compat {

// c10d: 1.13's ProcessGroupGloo is itself a ProcessGroup; from 2.0 on the collectives live in a
// Backend (ProcessGroupGloo derives from c10d::Backend) that a ProcessGroup may wrap. attnlab
// calls the backend directly, so it holds the type both versions share the collectives on.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

// A post-hook on an autograd node (here: a parameter's AccumulateGrad), called after the node
// ran. 1.13 and 2.x share operator()(outputs, inputs); 2.x adds compiled-autograd members with
// defaults, so one class serves both.
class PostHook : public torch::autograd::FunctionPostHook {
 public:
  explicit PostHook(std::function<void()> fn) : fn_(std::move(fn)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    fn_();
    return outputs;
  }

 private:
  std::function<void()> fn_;
};

// Autocast: 1.13 has per-device functions (set_cpu_enabled, set_autocast_gpu_dtype, ...); 2.4
// on takes the device type as an argument and deprecates the old names.
inline bool autocast_enabled(c10::DeviceType device) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

inline c10::ScalarType autocast_dtype(c10::DeviceType device) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                        : at::autocast::get_autocast_gpu_dtype();
#endif
}

inline void set_autocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
}

}  // namespace attnlab::compat
