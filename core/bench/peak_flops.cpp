// The matmul probe behind MFU, and its per-machine cache file.
#include "attnlab/bench/peak_flops.h"

#include "attnlab/device/device.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace attnlab::bench {

double measure_peak_flops(torch::Device device, torch::Dtype dtype, int64_t n) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  const auto a_NN = torch::randn({n, n}, options), b_NN = torch::randn({n, n}, options);
  auto c_NN = torch::empty({n, n}, options);
  const auto sync = [&] {
    if (device.is_cuda()) c_NN.sum().item<double>();  // waits for the queued matmul
  };
  torch::mm_out(c_NN, a_NN, b_NN);  // warm-up: thread pool, BLAS buffers
  sync();
  double best_s = INFINITY;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::mm_out(c_NN, a_NN, b_NN);
    sync();
    best_s = std::min(best_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * static_cast<double>(n) * n * n / best_s;
}

std::string peak_flops_key(torch::Device device, torch::Dtype dtype, int threads) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::ostringstream key;
  key << host << "/" << device.str() << "/" << c10::toString(dtype) << "/threads=" << threads;
  return key.str();
}

namespace {

nlohmann::json read_cache(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) return nlohmann::json::object();
  std::ifstream in(file);
  nlohmann::json cache;
  try {
    cache = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(file.string() + ": not valid JSON (" + e.what() +
                             "); delete the file and the peak is measured again");
  }
  bool ok = cache.is_object();
  for (const auto& [key, value] : cache.items()) ok = ok && value.is_number() && value > 0;
  if (!ok) {
    throw std::runtime_error(file.string() +
                             ": expected a JSON object of positive numbers (key -> FLOP/s); "
                             "delete the file and the peak is measured again");
  }
  return cache;
}

}  // namespace

std::optional<double> read_cached_peak_flops(const std::filesystem::path& file,
                                             const std::string& key) {
  const auto cache = read_cache(file);
  if (!cache.contains(key)) return std::nullopt;
  return cache.at(key).get<double>();
}

void write_cached_peak_flops(const std::filesystem::path& file, const std::string& key,
                             double flops) {
  auto cache = read_cache(file);
  cache[key] = flops;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  const auto tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << cache.dump(2) << "\n";
    if (!out) throw std::runtime_error(tmp + ": cannot write the peak FLOP/s cache");
  }
  std::filesystem::rename(tmp, file);  // readers never see a half-written file
}

double resolve_peak_flops(double declared, const std::filesystem::path& cache,
                          torch::Device device, const std::string& device_name,
                          torch::Dtype dtype, int threads,
                          const std::function<double()>& probe, std::ostream& log,
                          const std::string& prefix) {
  if (declared > 0) {
    log << prefix << "peak FLOP/s: " << declared << " (declared)\n";
    return declared;
  }
  if (device.is_cuda() && dtype == torch::kBFloat16) {
    if (const auto datasheet = device::bf16_dense_peak_flops(device_name)) {
      log << prefix << "peak FLOP/s: " << *datasheet << " (the datasheet dense bf16 peak of "
          << device_name << ")\n";
      return *datasheet;
    }
  }
  const auto key = peak_flops_key(device, dtype, threads);
  if (!cache.empty()) {
    if (const auto cached = read_cached_peak_flops(cache, key)) {
      log << prefix << "peak FLOP/s: " << *cached << " (cached in " << cache.string() << " for "
          << key << "; delete it to re-measure)\n";
      return *cached;
    }
  }
  log << prefix << "peak FLOP/s: measuring a 2048^3 matmul probe for " << key << " ...\n"
      << std::flush;
  const double peak = probe();
  if (!cache.empty()) write_cached_peak_flops(cache, key, peak);
  log << prefix << "peak FLOP/s: " << peak << " (measured"
      << (cache.empty() ? "" : "; cached in " + cache.string()) << ")\n";
  return peak;
}

}  // namespace attnlab::bench
