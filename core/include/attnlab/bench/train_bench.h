// `attnlab bench train`: the throughput of full training steps (forward, backward, gradient
// clipping, AdamW) of a model preset with an attention variant at a sequence length, on
// random tokens, each measurement in a fresh process (so its peak RSS is its own). Reports
// tokens/s (median step after warm-up), step time, peak memory and MFU.
#pragma once
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <memory>

#include "attnlab/plugin/registry.h"
#include "attnlab/spec/run_spec.h"

namespace attnlab::bench {

struct BenchTrainOptions {
  std::vector<std::string> presets;   // experiments/model/<preset>.yaml
  std::vector<std::string> variants;  // attention plugins (their config group option)
  std::vector<int64_t> seq_lens;      // T
  int64_t batch = 4;                  // B
  int steps = 5;                      // timed steps (median reported)
  int warmup = 2;                     // untimed steps first
  int threads = 0;                    // intra-op threads; 0: train.threads of the config
  std::string base_experiment = "smoke";           // composed with the overrides below
  std::vector<std::filesystem::path> config_dirs;  // search path (first wins)
  std::optional<double> declared_peak_flops;       // overrides the probe
  std::filesystem::path peak_flops_cache = "results/peak_flops.json";
};

// One measured (preset, variant, T). Trivially copyable: it crosses a pipe from the child.
struct BenchTrainMeasurement {
  double step_s = 0;           // median step time
  double tokens_per_s = 0;     // B * T / step_s
  double peak_mib = 0;         // VmHWM of the measuring process
  double flops_per_token = 0;  // dense matmuls (6N) + the variant's attention FLOPs / T
  double n_params = 0;         // including the variant's own parameters
  double last_loss = 0;        // loss of the last timed step (a sanity check: finite)
};

struct BenchTrainRow {
  std::string preset, variant;
  int64_t seq = 0, batch = 0;
  int threads = 0;
  BenchTrainMeasurement m;
  double peak_flops = 0, mfu = 0;
};

// The base experiment composed with model=<preset> attention=<variant> train.seq_len=T
// train.batch_size=B [train.threads=N], as a checked RunSpec; exactly one cell.
spec::RunSpec bench_spec(const BenchTrainOptions& options, const std::string& preset,
                         const std::string& variant, int64_t seq_len,
                         std::shared_ptr<plugin::PluginRegistry> plugins);

// Builds the spec's model and runs warmup + steps training steps here, in this process (call
// it in a fresh one for a clean peak RSS: bench_train does).
BenchTrainMeasurement measure_train_steps(const spec::RunSpec& spec,
                                          plugin::PluginRegistry& plugins, int warmup, int steps);

// The declared peak, else the cached one for this host/device/dtype/threads, else measured
// (in a fresh process) and cached. Says on `log` which one it is.
double peak_flops_for(const BenchTrainOptions& options, const std::string& device,
                      const std::string& dtype, int threads, std::ostream& log);

// Every preset × variant × T, each measured in a fresh process; progress lines on `log`.
std::vector<BenchTrainRow> bench_train(const BenchTrainOptions& options,
                                       std::shared_ptr<plugin::PluginRegistry> plugins,
                                       std::ostream& log);

// The rows as an aligned text table (one header line, one line per row).
void print_bench_train_table(std::ostream& out, const std::vector<BenchTrainRow>& rows);

}  // namespace attnlab::bench
