// When may a CUDA test say "no GPU, skipped"? Only on a machine with no NVIDIA GPU at all. Such a
// machine has no NVIDIA kernel driver, and there the CUDA runtime reports cudaErrorNoDevice, 0
// devices, or cudaErrorInsufficientDriver (what a runtime with no driver to talk to returns).
// Where the driver is loaded, a GPU is present, and any CUDA error (a driver older than the
// runtime included) is a test failure, never a skip.
#pragma once

#include <filesystem>

namespace attnlab::test {

// The NVIDIA kernel driver is loaded: it creates /proc/driver/nvidia and the /dev/nvidia0 node.
inline bool nvidia_driver_loaded() {
  return std::filesystem::exists("/proc/driver/nvidia") ||
         std::filesystem::exists("/dev/nvidia0");
}

}  // namespace attnlab::test
