// The machine's peak FLOP/s and model FLOPs utilisation (MFU). The peak is measured once
// per machine by a square matmul probe and cached in a small JSON file keyed by host name,
// device, dtype and thread count (default results/peak_flops.json); a declared value (e.g. a
// GPU's datasheet peak, `--peak-flops`) overrides it. MFU itself: attnlab/train/mfu.h.
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace attnlab::bench {

// Best FLOP/s of a few n×n×n matmuls (2n³ FLOPs each) on `device` in `dtype`, in this process
// with the current torch::get_num_threads(). n = 2048 by default.
double measure_peak_flops(torch::Device device, torch::Dtype dtype, int64_t n = 2048);

// "<host>/<device>/<dtype>/threads=<n>": what a cached peak is valid for.
std::string peak_flops_key(torch::Device device, torch::Dtype dtype, int threads);

// The cached value for `key`, if the file exists and holds it. A file that is not a JSON
// object of numbers is an error naming the file and saying to delete it.
std::optional<double> read_cached_peak_flops(const std::filesystem::path& file,
                                             const std::string& key);
// Adds or replaces `key` in the file (creating it and its directory), keeping other keys.
void write_cached_peak_flops(const std::filesystem::path& file, const std::string& key,
                             double flops);

// The peak MFU is computed against: `declared` when > 0, else for bf16 on a GPU named
// `device_name` its datasheet dense peak (device::bf16_dense_peak_flops), else the value
// cached in `cache` for this host/device/dtype/threads, else `probe()` (which measures it, e.g.
// measure_peak_flops in this or a fresh process), written to `cache` (an empty path: not
// cached). Says on `log` which it is, each line starting with `prefix`.
double resolve_peak_flops(double declared, const std::filesystem::path& cache,
                          torch::Device device, const std::string& device_name,
                          torch::Dtype dtype, int threads,
                          const std::function<double()>& probe, std::ostream& log,
                          const std::string& prefix = "");


}  // namespace attnlab::bench
