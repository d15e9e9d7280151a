// The device-independent half of device.h: parsing train.device, the GPU a process takes,
// the bf16 peak table.
#include "attnlab/device/device.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <utility>
#include <vector>

namespace attnlab::device {

namespace {

// A non-negative decimal integer, or nullopt.
std::optional<int> parse_index(const std::string& text) {
  if (text.empty() || text.size() > 6) return std::nullopt;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::stoi(text);
}

}  // namespace

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::Device(torch::kCPU);
  if (text == "cuda") return torch::Device(torch::kCUDA);
  const std::string prefix = "cuda:";
  if (text.rfind(prefix, 0) == 0) {
    if (const auto index = parse_index(text.substr(prefix.size()))) {
      return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(*index));
    }
  }
  throw std::invalid_argument("'" + text + "' is not a device; use cpu, cuda (this process's GPU) "
                              "or cuda:N (GPU number N)");
}

int local_gpu_index(EnvLookup getenv) {
  for (const char* name : {"ATTNLAB_DEVICE", "LOCAL_RANK", "SLURM_LOCALID"}) {
    const char* value = getenv(name);
    if (!value || !*value) continue;
    if (const auto index = parse_index(value)) return *index;
    throw std::invalid_argument(std::string("environment variable ") + name + "='" + value +
                                "' is not a GPU number (0, 1, ...); fix or unset it");
  }
  return 0;
}

torch::Device place_on(const std::string& text) {
  const auto device = parse_device(text);
  if (!device.is_cuda() || device.has_index()) return device;
  const int index = local_gpu_index([](const char* name) -> const char* { return std::getenv(name); });
  // A process that sees exactly one GPU (Slurm's --gpus-per-task=1, or CUDA_VISIBLE_DEVICES set
  // per rank) uses that one, whatever its local rank.
  return torch::Device(torch::kCUDA,
                       static_cast<c10::DeviceIndex>(cuda_device_count() == 1 ? 0 : index));
}

std::string unavailable_reason(const torch::Device& device) {
  if (device.is_cpu()) return "";
  if (!device.is_cuda()) return "attnlab trains on cpu or cuda, not " + device.str();
  if (!cuda_build()) {
    return "needs a CUDA build of attnlab; this build trains on CPU only. Use train.device=cpu "
           "here, or build with CUDA where a GPU is (docs/GPU.md)";
  }
  const int count = cuda_device_count();
  if (count == 0) {
    return "no CUDA device is usable in this process (no GPU, no driver, or "
           "CUDA_VISIBLE_DEVICES hides them); use train.device=cpu";
  }
  if (device.has_index() && device.index() >= count) {
    return "GPU " + std::to_string(device.index()) + " does not exist: this process sees " +
           std::to_string(count) + " (0-" + std::to_string(count - 1) + ")";
  }
  return "";
}

torch::Tensor tokens_on(const torch::Tensor& host_int32, const torch::Device& device) {
  return host_int32.to(device, /*non_blocking=*/true).to(torch::kInt64);
}

std::optional<double> bf16_dense_peak_flops(const std::string& name) {
  // NVIDIA datasheets, dense (no sparsity) bf16 tensor-core FLOP/s. The first entry whose
  // every word occurs in the name wins, so the specific forms come before "H100".
  static const std::vector<std::pair<std::vector<std::string>, double>> table = {
      {{"H200"}, 989.4e12},
      {{"H100", "PCIe"}, 756.0e12},
      {{"H100"}, 989.4e12},  // SXM (HBM3)
      {{"A100"}, 312.0e12},
  };
  for (const auto& [words, flops] : table) {
    const bool all = std::all_of(words.begin(), words.end(), [&](const std::string& w) {
      return name.find(w) != std::string::npos;
    });
    if (all) return flops;
  }
  return std::nullopt;
}

}  // namespace attnlab::device
