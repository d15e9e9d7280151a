// device.h in a CPU-only build: the CPU works, and every CUDA request is a clear error (RunSpec
// rejects train.device=cuda before a run starts, so these are reached only by misuse).
#include <chrono>
#include <stdexcept>

#include "attnlab/device/device.h"

namespace attnlab::device {

namespace {

[[noreturn]] void no_cuda(const char* what) {
  throw std::runtime_error(std::string(what) +
                           ": this attnlab build has no CUDA; use train.device=cpu or build with "
                           "CUDA (docs/GPU.md)");
}

}  // namespace

bool cuda_build() { return false; }
int cuda_device_count() { return 0; }

std::string device_name(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  no_cuda("device_name");
}

PeakMemory peak_memory(const torch::Device&) { no_cuda("peak_memory"); }
void reset_peak_memory(const torch::Device&) { no_cuda("reset_peak_memory"); }

void make_current(const torch::Device& device) {
  if (!device.is_cpu()) no_cuda("make_current");
}

struct StepTimer::Impl {
  std::chrono::steady_clock::time_point t0;
};

StepTimer::StepTimer(const torch::Device& device) : impl_(std::make_unique<Impl>()) {
  if (!device.is_cpu()) no_cuda("StepTimer");
}
StepTimer::~StepTimer() = default;
void StepTimer::start() { impl_->t0 = std::chrono::steady_clock::now(); }
double StepTimer::stop_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->t0).count();
}

torch::Tensor host_staging_int32(int64_t numel, const torch::Device& device) {
  if (!device.is_cpu()) no_cuda("host_staging_int32");
  return torch::empty({numel}, torch::kInt32);
}

}  // namespace attnlab::device
