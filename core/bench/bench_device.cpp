// checked_bench_device (a CUDA device is checked and named in a fresh process) and the
// per-device memory accounting of the measuring children.
#include "attnlab/bench/bench_device.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "attnlab/bench/fresh_process.h"
#include "attnlab/device/device.h"

namespace attnlab::bench {

BenchDevice checked_bench_device(const std::string& text) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("--device " + text + ": " + why);
  };
  BenchDevice d;
  try {
    d.device = device::place_on(text);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
  if (d.device.is_cpu()) return d;
  const auto facts = nlohmann::json::parse(run_in_fresh_process("checking --device " + text, [&] {
    const auto why = device::unavailable_reason(d.device);
    return nlohmann::json{{"why", why}, {"name", why.empty() ? device::device_name(d.device) : ""}}.dump();
  }));
  if (const auto why = facts.at("why").get<std::string>(); !why.empty()) fail(why);
  d.name = facts.at("name").get<std::string>();
  return d;
}

std::string device_label(const BenchDevice& device, int threads) {
  if (device.device.is_cpu()) return "cpu, " + std::to_string(threads) + " threads";
  return device.device.str() + " (" + device.name + ")";
}

double reset_memory_peak(const torch::Device& device) {
  if (device.is_cpu()) {
    reset_peak_rss();
    return rss_mib();
  }
  device::reset_peak_memory(device);
  return device::peak_memory(device).allocated_mib;  // right after a reset: what is live
}

MemoryPeak memory_peak(const torch::Device& device) {
  if (device.is_cpu()) return {peak_rss_mib(), 0};
  const auto peak = device::peak_memory(device);
  return {peak.allocated_mib, peak.reserved_mib};
}

}  // namespace attnlab::bench
