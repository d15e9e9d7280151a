// The device a benchmark measures on. The parent process of `attnlab bench` never touches CUDA:
// a process that has initialised CUDA cannot fork a child that uses the GPU, and every
// measurement runs in a fork()ed child (fresh_process.h). So what the parent needs to know of a
// GPU (whether this build and machine can use it, its name) is read in a child too. Memory is
// measured in the measuring child, per device: the process's resident set on the CPU, LibTorch's
// caching allocator on CUDA.
#pragma once
#include <torch/types.h>

#include <string>

namespace attnlab::bench {

struct BenchDevice {
  torch::Device device = torch::kCPU;  // a bare "cuda" resolved to this process's GPU
  std::string name = "cpu";            // device::device_name: "cpu" or the GPU's name
};

// `--device` as given: cpu, cuda (this process's GPU, device::place_on) or cuda:N. Throws
// std::invalid_argument saying why when the text is not a device or the device cannot be used
// here (device::unavailable_reason: a CPU-only build, no GPU, an index past the GPUs); for a
// CUDA device that check and the name come from a fresh process.
BenchDevice checked_bench_device(const std::string& text);

// The store's device column: "cpu, N threads", or "cuda:0 (NVIDIA H100 80GB HBM3)".
std::string device_label(const BenchDevice& device, int threads);

// In the measuring child: resets `device`'s memory high-water marks to what is in use now and
// returns that (MiB: the resident set, or the allocator's live tensors).
double reset_memory_peak(const torch::Device& device);

struct MemoryPeak {
  double peak_mib = 0;      // CPU: VmHWM of the process; CUDA: the allocator's live tensors
  double reserved_mib = 0;  // CUDA: memory the allocator held from the driver; CPU: 0
};
// The high-water marks since the last reset_memory_peak.
MemoryPeak memory_peak(const torch::Device& device);

}  // namespace attnlab::bench
