// `attnlab bench train`: the throughput of full training steps (forward, backward, gradient
// clipping, AdamW) of a model preset with an attention variant at a sequence length, on
// random tokens, on the CPU or a GPU in fp32 or bf16 autocast, each measurement in a fresh
// process (so its peak memory is its own). Reports tokens/s (median step after warm-up), step
// time, peak memory and MFU.
#pragma once
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <memory>

#include "attnlab/bench/bench_device.h"
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
  BenchDevice device;                 // train.device (checked_bench_device: checked already)
  std::string dtype = "fp32";         // train.dtype: fp32, or bf16 (autocast)
  std::string base_experiment = "smoke";           // composed with the overrides below
  std::vector<std::filesystem::path> config_dirs;  // search path (first wins)
  std::optional<double> declared_peak_flops;       // overrides the probe
  std::filesystem::path peak_flops_cache = "results/peak_flops.json";
};

// One measured (preset, variant, T). Trivially copyable: it crosses a pipe from the child.
struct BenchTrainMeasurement {
  double step_s = 0;           // median step time
  double tokens_per_s = 0;     // B * T / step_s
  double peak_mib = 0;         // CPU: VmHWM of the measuring process; CUDA: the allocator's
  double reserved_mib = 0;     // CUDA: the allocator's reserved peak (both after warm-up)
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
// train.batch_size=B train.device=<device> train.dtype=<dtype> [train.threads=N], as a checked
// RunSpec; exactly one cell.
spec::RunSpec bench_spec(const BenchTrainOptions& options, const std::string& preset,
                         const std::string& variant, int64_t seq_len,
                         std::shared_ptr<plugin::PluginRegistry> plugins);

// Builds the spec's model on train.device and runs warmup + steps training steps here, in this
// process (call it in a fresh one for a clean peak memory, and because a GPU may only be used
// by a process whose parent never initialised CUDA: bench_train does), the forward passes
// under autocast for train.dtype=bf16.
BenchTrainMeasurement measure_train_steps(const spec::RunSpec& spec,
                                          plugin::PluginRegistry& plugins, int warmup, int steps);

// The peak MFU is computed against, for options.device and options.dtype: the declared peak,
// else for bf16 on a GPU the datasheet's (device::bf16_dense_peak_flops), else the cached one
// for this host/device/dtype/threads, else measured (in a fresh process) and cached. Says on
// `log` which one it is.
double peak_flops_for(const BenchTrainOptions& options, int threads, std::ostream& log);

// Every preset × variant × T, each measured in a fresh process; progress lines on `log`.
std::vector<BenchTrainRow> bench_train(const BenchTrainOptions& options,
                                       std::shared_ptr<plugin::PluginRegistry> plugins,
                                       std::ostream& log);

// The rows as an aligned text table (one header line, one line per row); `gpu` adds the CUDA
// allocator's reserved peak as the last column.
void print_bench_train_table(std::ostream& out, const std::vector<BenchTrainRow>& rows,
                             bool gpu = false);

}  // namespace attnlab::bench
