// Where a run trains: parsing `train.device`, choosing this process's GPU (launcher,
// torchrun, Slurm), and what attnlab asks of a device beyond tensors: its name, its bf16
// peak, its peak memory, a step timer, host buffers the device can copy from asynchronously.
// CUDA specifics live in cuda_device.cpp (CUDA builds) or host_only.cpp (CPU builds, where
// every CUDA request is a clear error), so nothing else needs an #ifdef.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace attnlab::device {

// True when this attnlab was built with CUDA (ATTNLAB_WITH_CUDA).
bool cuda_build();
// CUDA devices this process can use (0 in a CPU build or without a driver).
int cuda_device_count();

// `train.device` as written: "cpu", "cuda" (this process's GPU, see place_on) or "cuda:N".
// Throws std::invalid_argument naming the text and the accepted forms.
torch::Device parse_device(const std::string& text);

// The GPU index a process uses when `train.device` is plain "cuda": ATTNLAB_DEVICE (set by
// `attnlab run --devices`), else LOCAL_RANK (torchrun, our --nproc-per-node), else SLURM_LOCALID,
// else 0. Values come from `getenv` (nullptr = unset); a malformed value throws naming it.
using EnvLookup = std::function<const char*(const char*)>;
int local_gpu_index(EnvLookup getenv);

// The device a run trains on: parse_device(text), with a bare "cuda" given its index by
// local_gpu_index(::getenv), or 0 when the process sees exactly one GPU (Slurm's
// --gpus-per-task=1 or a per-rank CUDA_VISIBLE_DEVICES).
torch::Device place_on(const std::string& text);

// Why `device` cannot train in this process ("" when it can): a CPU-only build, no driver,
// or an index past the devices present. The words say what to do.
std::string unavailable_reason(const torch::Device& device);

// "cpu", or the CUDA device's name as the driver reports it ("NVIDIA H100 80GB HBM3").
std::string device_name(const torch::Device& device);

// The datasheet dense bf16 tensor-core peak of a GPU in FLOP/s, looked up by name (H100 SXM and
// H200: 989.4e12, H100 PCIe: 756e12, A100: 312e12); nullopt for a name the table lacks.
std::optional<double> bf16_dense_peak_flops(const std::string& name);

struct PeakMemory {
  double allocated_mib = 0;  // the caching allocator's high-water mark of live tensors
  double reserved_mib = 0;   // and of memory it held from the driver
};
// The CUDA device's peak memory since the last reset (throws for a CPU device).
PeakMemory peak_memory(const torch::Device& device);
void reset_peak_memory(const torch::Device& device);

// Makes `device` current for this thread (a no-op for the CPU): NCCL and the kernels launch
// on the current device.
void make_current(const torch::Device& device);

// Wall time of a step: CUDA events on the device's current stream for a GPU (the time the
// GPU spent, not the time the host took to queue it), a steady clock for the CPU.
class StepTimer {
 public:
  explicit StepTimer(const torch::Device& device);
  ~StepTimer();
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;
  void start();
  double stop_seconds();  // waits for the device to reach the stop mark

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An int32 host buffer of `numel` values that `device` can copy from without blocking:
// page-locked (through LibTorch's caching host allocator, which keeps a block until the copies
// queued from it are done) for a GPU, plain memory for the CPU.
torch::Tensor host_staging_int32(int64_t numel, const torch::Device& device);

// Token ids from such a buffer on `device` as int64: copied without blocking as int32 (the
// copy reads the pinned buffer as it is), widened on the device.
torch::Tensor tokens_on(const torch::Tensor& host_int32, const torch::Device& device);

}  // namespace attnlab::device
