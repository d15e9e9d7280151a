// bench_train: compose one config per (preset, variant, T), run full training steps on the
// device in a fresh process per measurement, and put the numbers (with MFU) in rows and a table.
#include "attnlab/bench/train_bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <ostream>

#include "attnlab/bench/fresh_process.h"
#include "attnlab/bench/peak_flops.h"
#include "attnlab/device/device.h"
#include "attnlab/spec/build_model.h"
#include "attnlab/train/autocast_scope.h"
#include "attnlab/train/mfu.h"
#include "attnlab/train/optimizer.h"

namespace attnlab::bench {

spec::RunSpec bench_spec(const BenchTrainOptions& options, const std::string& preset,
                         const std::string& variant, int64_t seq_len,
                         std::shared_ptr<plugin::PluginRegistry> plugins) {
  spec::SpecRequest request{options.base_experiment,
                            {"model=" + preset, "attention=" + variant,
                             "train.seq_len=" + std::to_string(seq_len),
                             "train.batch_size=" + std::to_string(options.batch),
                             "train.device=" + options.device.device.str(), "train.dtype=" + options.dtype},
                            options.config_dirs};
  if (options.threads > 0) request.overrides.push_back("train.threads=" + std::to_string(options.threads));
  auto specs = spec::build_run_specs(request, plugins);
  if (specs.size() != 1) {
    throw std::runtime_error(options.base_experiment + ": bench train needs one config per "
                             "measurement, but it sweeps " + std::to_string(specs.size()) +
                             " cells besides model/attention; use an experiment without sweeps");
  }
  return std::move(specs.front());
}

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Batch i of the int32 tokens [S, B, T+1] as int64 on `device`, through a staging buffer the
// device copies from without blocking, as the trainer's batches go.
torch::Tensor batch_on(const torch::Tensor& tokens_SBT1, int64_t i, const torch::Device& device) {
  auto host_N = device::host_staging_int32(tokens_SBT1[i].numel(), device);
  host_N.copy_(tokens_SBT1[i].reshape({-1}));
  return device::tokens_on(host_N.view(tokens_SBT1[i].sizes()), device);
}

}  // namespace

BenchTrainMeasurement measure_train_steps(const spec::RunSpec& spec,
                                          plugin::PluginRegistry& plugins, int warmup,
                                          int steps) {
  const auto& tc = spec.train;
  const auto device = device::place_on(tc.device);
  const auto dtype = train::parse_train_dtype(tc.dtype);
  device::make_current(device);
  torch::set_num_threads(spec::resolve_threads(tc.threads));
  torch::manual_seed(spec.seed);
  auto model = spec::build_model(spec, plugins);
  model->to(device);
  model->train();
  auto optimizer = train::make_adamw(*model, tc, model->grouped_parameters());

  BenchTrainMeasurement m;
  m.n_params = static_cast<double>(spec.parameter_count);
  m.flops_per_token = spec.flops_per_token;

  const int64_t B = tc.batch_size, T = tc.seq_len;
  const int64_t vocab = spec.data.vocab_size;
  const auto tokens_SBT1 = torch::randint(0, vocab, {warmup + steps, B, T + 1}, torch::kInt32);
  const double clip = tc.grad_clip > 0 ? tc.grad_clip : std::numeric_limits<double>::infinity();
  const auto train_step = [&](int64_t i) {  // what Trainer::run does per step (grad_accum 1)
    optimizer.adamw->zero_grad();
    const auto t_BT1 = batch_on(tokens_SBT1, i, device);
    torch::Tensor loss;
    {
      train::AutocastScope autocast(device, dtype);
      loss = model->loss(t_BT1.narrow(1, 0, T), t_BT1.narrow(1, 1, T));
    }
    loss.backward();
    m.last_loss = loss.item<double>();
    torch::nn::utils::clip_grad_norm_(model->parameters(), clip);
    optimizer.adamw->step();
  };
  for (int i = 0; i < warmup; ++i) train_step(i);
  reset_memory_peak(device);
  device::StepTimer timer(device);
  std::vector<double> times;
  for (int i = 0; i < steps; ++i) {
    timer.start();
    train_step(warmup + i);
    times.push_back(timer.stop_seconds());
  }
  m.step_s = median(times);
  m.tokens_per_s = static_cast<double>(B * T) / m.step_s;
  const auto peak = memory_peak(device);
  m.peak_mib = peak.peak_mib;
  m.reserved_mib = peak.reserved_mib;
  return m;
}

double peak_flops_for(const BenchTrainOptions& options, int threads, std::ostream& log) {
  const torch::Device dev = options.device.device;
  const torch::Dtype dt = train::parse_train_dtype(options.dtype);
  return resolve_peak_flops(options.declared_peak_flops.value_or(0.0), options.peak_flops_cache,
                            dev, options.device.name, dt, threads, [&] {
                              return run_in_fresh_process<double>("peak FLOP/s probe", [&] {
                                device::make_current(dev);
                                torch::set_num_threads(threads);
                                return measure_peak_flops(dev, dt);
                              });
                            }, log);
}

std::vector<BenchTrainRow> bench_train(const BenchTrainOptions& options,
                                       std::shared_ptr<plugin::PluginRegistry> plugins,
                                       std::ostream& log) {
  if (options.presets.empty() || options.variants.empty() || options.seq_lens.empty()) {
    throw std::invalid_argument("bench train needs at least one preset, variant and length");
  }
  if (options.batch < 1 || options.steps < 1 || options.warmup < 0 || options.threads < 0) {
    throw std::invalid_argument("bench train: batch and steps must be >= 1, warmup and threads >= 0");
  }
  std::map<int, double> peak_by_threads;
  std::vector<BenchTrainRow> rows;
  const std::string where =
      (options.device.device.is_cpu() ? "" : ", on " + device_label(options.device, 0)) +
      (options.dtype == "fp32" ? "" : ", " + options.dtype);
  for (const auto& preset : options.presets) {
    for (const auto& variant : options.variants) {
      for (const int64_t T : options.seq_lens) {
        const auto spec = bench_spec(options, preset, variant, T, plugins);
        BenchTrainRow row{preset, variant, T, options.batch,
                          spec::resolve_threads(spec.train.threads), {}, 0, 0};
        if (!peak_by_threads.count(row.threads)) {
          peak_by_threads[row.threads] = peak_flops_for(options, row.threads, log);
        }
        row.peak_flops = peak_by_threads[row.threads];
        const std::string what = "bench train " + preset + "/" + variant + " T=" +
                                 std::to_string(T) + " B=" + std::to_string(options.batch);
        log << "measuring " << what << " (" << options.warmup << " warm-up + " << options.steps
            << " timed steps, " << row.threads << " threads" << where << ") ...\n"
            << std::flush;
        row.m = run_in_fresh_process<BenchTrainMeasurement>(
            what, [&] { return measure_train_steps(spec, *plugins, options.warmup, options.steps); });
        if (!std::isfinite(row.m.last_loss)) {
          throw std::runtime_error(what + ": the loss is " + std::to_string(row.m.last_loss) +
                                   " (the model diverged or is broken; check the preset)");
        }
        row.mfu = train::model_flops_utilisation(row.m.flops_per_token, row.m.tokens_per_s, row.peak_flops);
        rows.push_back(row);
      }
    }
  }
  return rows;
}

void print_bench_train_table(std::ostream& out, const std::vector<BenchTrainRow>& rows,
                             bool gpu) {
  out << std::left << std::setw(12) << "preset" << std::setw(14) << "variant" << std::right
      << std::setw(7) << "T" << std::setw(4) << "B" << std::setw(8) << "threads" << std::setw(10)
      << "params M" << std::setw(11) << "step ms" << std::setw(11) << "tokens/s" << std::setw(10)
      << "peak MiB" << std::setw(9) << "GFLOP/s" << std::setw(8) << "MFU %"
      << (gpu ? "  reserved MiB" : "") << "\n";
  for (const auto& r : rows) {
    out << std::left << std::setw(12) << r.preset << std::setw(14) << r.variant << std::right
        << std::setw(7) << r.seq << std::setw(4) << r.batch << std::setw(8) << r.threads
        << std::fixed << std::setprecision(3) << std::setw(10) << r.m.n_params / 1e6
        << std::setprecision(1) << std::setw(11) << r.m.step_s * 1e3 << std::setprecision(0)
        << std::setw(11) << r.m.tokens_per_s << std::setw(10) << r.m.peak_mib
        << std::setprecision(1) << std::setw(9) << r.m.flops_per_token * r.m.tokens_per_s / 1e9
        << std::setw(8) << r.mfu * 100;
    if (gpu) out << std::setprecision(0) << std::setw(14) << r.m.reserved_mib;
    out << "\n";
  }
  out << std::defaultfloat;
}

}  // namespace attnlab::bench
