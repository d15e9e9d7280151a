// device.h in a CUDA build: device count and name from the driver, peak memory from LibTorch's
// caching allocator, CUDA-event step timing, page-locked staging buffers.
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/cuda.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "attnlab/device/device.h"

namespace attnlab::device {

namespace {

c10::DeviceIndex index_of(const torch::Device& device) {
  if (!device.is_cuda()) {
    throw std::invalid_argument("expected a CUDA device, got " + device.str());
  }
  return device.has_index() ? device.index() : c10::cuda::current_device();
}

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::atomic<bool> g_gpu_in_use{false};  // set by make_current: this process drives a GPU

// Counting GPUs initialises the CUDA driver, after which a fork()ed child cannot use CUDA (the
// benchmarks measure in forked children, and runs are checked before they fork). So until this
// process drives a GPU itself, the count is taken in a short-lived child process.
int count_in_child() {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("cannot count the CUDA devices: pipe() failed");
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const int n = static_cast<int>(torch::cuda::device_count());
    const bool sent = write(fds[1], &n, sizeof n) == static_cast<ssize_t>(sizeof n);
    _exit(sent ? 0 : 1);
  }
  close(fds[1]);
  int n = -1;
  const bool got = pid > 0 && read(fds[0], &n, sizeof n) == static_cast<ssize_t>(sizeof n);
  close(fds[0]);
  if (pid > 0) waitpid(pid, nullptr, 0);
  if (!got) throw std::runtime_error("cannot count the CUDA devices: the probe process failed");
  return n;
}

}  // namespace

bool cuda_build() { return true; }

int cuda_device_count() {
  static std::mutex mutex;
  static std::optional<int> count;  // the devices do not change while the process runs
  const std::lock_guard<std::mutex> lock(mutex);
  if (!count) {
    count = g_gpu_in_use ? static_cast<int>(torch::cuda::device_count()) : count_in_child();
  }
  return *count;
}

std::string device_name(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  return at::cuda::getDeviceProperties(index_of(device))->name;
}

PeakMemory peak_memory(const torch::Device& device) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device));
  // Index 0 is StatType::AGGREGATE (all pools) in every LibTorch version; the enum's
  // namespace moved between versions, its value did not.
  return {mib(stats.allocated_bytes[0].peak), mib(stats.reserved_bytes[0].peak)};
}

void reset_peak_memory(const torch::Device& device) {
  c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
}

void make_current(const torch::Device& device) {
  if (!device.is_cuda()) return;
  g_gpu_in_use = true;
  c10::cuda::set_device(index_of(device));
}

struct StepTimer::Impl {
  bool cuda = false;
  std::chrono::steady_clock::time_point t0;
  at::cuda::CUDAEvent begin{cudaEventDefault}, end{cudaEventDefault};  // timing enabled
};

StepTimer::StepTimer(const torch::Device& device) : impl_(std::make_unique<Impl>()) {
  impl_->cuda = device.is_cuda();
}
StepTimer::~StepTimer() = default;

void StepTimer::start() {
  if (impl_->cuda) {
    impl_->begin.record();
  } else {
    impl_->t0 = std::chrono::steady_clock::now();
  }
}

double StepTimer::stop_seconds() {
  if (!impl_->cuda) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->t0).count();
  }
  impl_->end.record();
  impl_->end.synchronize();
  return impl_->begin.elapsed_time(impl_->end) / 1000.0;
}

torch::Tensor host_staging_int32(int64_t numel, const torch::Device& device) {
  return torch::empty({numel}, torch::TensorOptions().dtype(torch::kInt32).pinned_memory(device.is_cuda()));
}

}  // namespace attnlab::device
