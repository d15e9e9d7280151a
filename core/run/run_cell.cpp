// run_cell: from a checked RunSpec to a trained model and its metrics.
#include "attnlab/run/run_cell.h"

#include <torch/torch.h>

#include <iostream>
#include <optional>

#include "attnlab/bench/fresh_process.h"
#include "attnlab/bench/peak_flops.h"
#include "attnlab/data/loader.h"
#include "attnlab/device/device.h"
#include "attnlab/dist/communicator.h"
#include "attnlab/kernels/attention.h"
#include "attnlab/run/code_version.h"
#include "attnlab/spec/build_model.h"
#include "attnlab/train/console_sink.h"
#include "attnlab/train/metric_names.h"
#include "attnlab/train/mfu.h"
#include "attnlab/train/autocast_scope.h"
#include "attnlab/train/tee_sink.h"

namespace attnlab::run {

namespace {

bool is_rank0(const CellOptions& options) { return !options.dist || options.dist->rank() == 0; }
int world_size(const CellOptions& options) { return options.dist ? options.dist->world_size() : 1; }

// Rank 0 logs MFU against the declared peak, else a GPU's datasheet bf16 peak (device.h's
// table), else the cached or (here, before the model is seeded: it draws its own inputs)
// probed one; other ranks do not need it.
double peak_flops_for(const spec::RunSpec& spec, const torch::Device& device,
                      const CellOptions& options, int threads) {
  if (!is_rank0(options)) return 0.0;
  const auto dtype = train::parse_train_dtype(spec.train.dtype);
  return bench::resolve_peak_flops(
      spec.train.peak_flops, options.peak_flops_cache, device, device::device_name(device), dtype,
      threads,
      [&] { return bench::measure_peak_flops(device, dtype); }, std::cout, options.log_prefix);
}

// The device this process trains on, current for its thread, with its peak memory counter
// reset; a GPU that is not there is an error naming it before anything is built.
torch::Device take_device(const spec::RunSpec& spec) {
  const auto device = device::place_on(spec.train.device);
  if (const auto why = device::unavailable_reason(device); !why.empty()) {
    throw std::runtime_error("train.device=" + spec.train.device + " (" + device.str() + "): " + why);
  }
  device::make_current(device);
  if (device.is_cuda()) device::reset_peak_memory(device);
  return device;
}

void record_run_facts(const spec::RunSpec& spec, const plugin::LoadedPlugin& plugin,
                      const data::TokenLoader& train_data, int threads, double peak_flops,
                      const torch::Device& device, const CellOptions& options,
                      train::MetricsSink& sink) {
  sink.info(metric::kInfoNParams, spec.parameter_count);
  sink.info("n_params_non_embedding", spec.parameter_count - spec.model.vocab_size * spec.model.d_model);
  sink.info(metric::kInfoFlopsPerToken, spec.flops_per_token);
  sink.info(metric::kInfoTrainingFlops, spec.total_flops(world_size(options)));
  if (spec.budget_steps_exact > 0) sink.info(metric::kInfoBudgetStepsExact, spec.budget_steps_exact);
  sink.info("threads", threads);
  if (peak_flops > 0) sink.info(metric::kInfoPeakFlops, peak_flops);
  sink.info("world_size", world_size(options));
  sink.info("device", device.str());
  sink.info(metric::kInfoDeviceName, device::device_name(device));
  sink.info("dtype", spec.train.dtype);
  sink.info("train_tokens_available", train_data.train_tokens());
  sink.info("plugin", {{"name", plugin.name},
                       {"version", plugin.version},
                       {"sha256", plugin.sha256},
                       {"path", plugin.path}});
}

// The process's RSS high-water mark since this cell started (reset before the model) and, on a
// GPU, the caching allocator's peaks (reset when the device was taken).
void record_peak_memory(const torch::Device& device, train::MetricsSink& sink) {
  const auto bytes = [](double mib) { return static_cast<int64_t>(mib * 1024.0 * 1024.0); };
  sink.info(metric::kInfoPeakMemoryBytes, bytes(bench::peak_rss_mib()));
  if (!device.is_cuda()) return;
  const auto peak = device::peak_memory(device);
  sink.info(metric::kInfoPeakGpuAllocatedBytes, bytes(peak.allocated_mib));
  sink.info(metric::kInfoPeakGpuReservedBytes, bytes(peak.reserved_mib));
}

void record_outcome(const spec::RunSpec& spec, const train::TrainResult& result,
                    const data::TokenLoader& train_data, double peak_flops,
                    const torch::Device& device, const CellOptions& options,
                    train::MetricsSink& sink) {
  sink.info(metric::kInfoWallTimeS, result.wall_s);
  record_peak_memory(device, sink);
  if (result.tokens_per_s_mean > 0) {  // 0: no step timed (train.steps=0, one step, a rerun)
    sink.info(metric::kInfoTokensPerSMean, result.tokens_per_s_mean);
    if (peak_flops > 0) {
      sink.info(metric::kInfoMfuMean,
                train::model_flops_utilisation(spec.flops_per_token, result.tokens_per_s_mean,
                                               peak_flops * world_size(options)));
    }
  }
  sink.info("tokens_seen", train_data.tokens_seen());
  sink.info("epochs", train_data.epoch());
}

// Which attention kernels the first step ran (kernels::attention_backends_used), said once
// on the console and kept in run_info: "flash, window 256".
void record_attention_backend(const CellOptions& options, train::MetricsSink& sink) {
  std::string used;
  for (const auto& backend : kernels::attention_backends_used()) {
    used += (used.empty() ? "" : "; ") + backend;
  }
  sink.info(metric::kInfoAttentionBackend, used);
  if (is_rank0(options)) std::printf("%sattention backend: %s\n", options.log_prefix.c_str(), used.c_str());
}

// Checkpoints of this run (rank 0 clears them on --restart; the others wait for that).
std::optional<train::CheckpointManager> checkpoints_for(const spec::RunSpec& spec,
                                                        const CellOptions& options) {
  if (options.run_dir.empty()) return std::nullopt;
  std::optional<train::CheckpointManager> checkpoints;
  checkpoints.emplace(options.run_dir / "checkpoints", static_cast<int>(spec.train.keep_checkpoints));
  if (options.restart && is_rank0(options)) checkpoints->clear();
  if (options.dist) options.dist->barrier();
  return checkpoints;
}

}  // namespace

CellResult run_cell(const spec::RunSpec& spec, plugin::PluginRegistry& plugins,
                    train::MetricsSink& sink, const CellOptions& options) {
  bench::reset_peak_rss();
  const int threads = spec.train.threads == 0 && options.intra_op_threads > 0
                          ? options.intra_op_threads
                          : spec::resolve_threads(spec.train.threads);
  torch::set_num_threads(threads);
  const auto device = take_device(spec);
  const double peak_flops = peak_flops_for(spec, device, options, threads);
  torch::manual_seed(spec.seed);
  auto model = spec::build_model(spec, plugins);  // initialised on the CPU: the same on any device
  model->to(device);

  auto loader = spec.data;
  if (options.dist) {  // each rank reads its own disjoint share of every batch
    loader.rank = options.dist->rank();
    loader.world_size = options.dist->world_size();
  }
  data::TokenLoader train_data(loader);
  data::ValidationSet val_data(loader);
  record_run_facts(spec, plugins.load(spec.variant), train_data, threads, peak_flops, device,
                   options, sink);
  std::printf("%s%s: %.2fM parameters, %.3g FLOPs/token, %d threads\n", options.log_prefix.c_str(),
              spec.model.name.c_str(), spec.parameter_count / 1e6, spec.flops_per_token, threads);
  if (spec.budget_steps_exact > 0) {
    std::printf("%sflop budget %.4g: %lld steps (%.2f before rounding), %.4g training FLOPs\n",
                options.log_prefix.c_str(), spec.train.flop_budget,
                static_cast<long long>(spec.train.steps), spec.budget_steps_exact,
                spec.total_flops(world_size(options)));
  }

  auto checkpoints = checkpoints_for(spec, options);
  kernels::reset_attention_backends_used();
  train::TrainerOptions trainer_options;
  if (checkpoints) trainer_options.checkpoints = &*checkpoints;
  trainer_options.config_fingerprint = spec.fingerprint;
  trainer_options.code_version = code_version();
  trainer_options.stop_requested = options.stop_requested;
  trainer_options.dist = options.dist;
  trainer_options.flops_per_token = spec.flops_per_token;
  trainer_options.attention_plugin = spec.variant;
  trainer_options.peak_flops = peak_flops;
  trainer_options.device = device;
  trainer_options.after_first_step = [&] { record_attention_backend(options, sink); };
  train::ConsoleSink console(options.log_prefix, spec.train.steps, spec.train.log_every);
  train::TeeSink sinks({&sink, &console});  // the store first, then the progress lines
  train::Trainer trainer(model, spec.train, train_data, val_data, sinks, trainer_options);
  const auto result = trainer.run();
  record_outcome(spec, result, train_data, peak_flops, device, options, sink);
  return {result, model};
}

}  // namespace attnlab::run
