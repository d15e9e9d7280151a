// The differences between the LibTorch versions attnlab builds against (Debian's 1.13 on CPU,
// 2.x on GPU machines), in one place. Include it instead of spelling a version-specific name.
#pragma once
#include <torch/version.h>

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

}  // namespace attnlab::compat
