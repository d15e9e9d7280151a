// attnlab bench: `attention` times attention plugins forward and forward+backward over a list
// of sequence lengths and measures their peak memory; `train` measures full training steps of
// a model preset per attention variant (tokens/s, step time, peak memory, MFU). This file
// parses flags, prints tables and stores rows (bench_attention and bench_train tables); the
// measuring lives in core/bench (each measurement in a fresh process: its peak is its own).
#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "attnlab/bench/attention_bench.h"
#include "attnlab/bench/train_bench.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/store/store.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {
namespace {

const char* kUsage =
    "--plugins a,b --seq 512,1024,... [--batch B --heads H --kv-heads K --head-dim D "
    "--dtype fp32|fp64|bf16 --repeats N --naive-dense --plugin-dir DIR --db PATH]\n\n"
    "Times each plugin (default options) forward and forward+backward on random inputs: the "
    "median\n"
    "of N timed steps after one warm-up step, the peak resident memory above the inputs (each\n"
    "measurement in a fresh process) and GFLOP/s from the plugin's own FLOPs count.\n"
    "--naive-dense adds a row for textbook dense attention that materialises the [B, H, T, T]\n"
    "scores (a baseline to compare the blocked kernels against; FLOPs counted as dense's).";

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "fp32") return torch::kFloat;
  if (name == "fp64") return torch::kDouble;
  if (name == "bf16") return torch::kBFloat16;
  throw UsageError("--dtype " + name + " is not supported; use fp32, fp64 or bf16");
}

std::vector<int64_t> parse_seqs(const std::string& text) {
  std::vector<int64_t> seqs;
  for (const auto& t : split(text)) {
    try {
      seqs.push_back(std::stoll(t));
    } catch (const std::exception&) {
      throw UsageError("--seq: '" + t + "' is not a sequence length; give e.g. --seq 512,1024");
    }
    if (seqs.back() < 1) throw UsageError("--seq: lengths must be >= 1, got " + t);
  }
  return seqs;
}

std::filesystem::path plugin_dir(const po::variables_map& vm) {
  return vm.count("plugin-dir") ? std::filesystem::path(vm["plugin-dir"].as<std::string>())
                                : default_plugin_dir();
}

// The options every benchmark takes: where plugins are and where rows are stored.
void add_common_options(po::options_description& options) {
  options.add_options()("plugin-dir", po::value<std::string>(),
                        "directory of libattnlab_<name>.so (default: next to attnlab)")(
      "db", po::value<std::string>()->default_value(default_db_path()),
      "results store the rows are added to (ATTNLAB_DB overrides the default)");
}

int bench_attention(const Args& args) {
  po::options_description options("bench attention options");
  options.add_options()("plugins", po::value<std::string>()->default_value("dense,fixed_window"),
                        "comma-separated plugin names")(
      "seq", po::value<std::string>()->default_value("512,1024,2048"),
      "comma-separated sequence lengths")("batch", po::value<int64_t>()->default_value(1),
                                          "batch size")(
      "heads", po::value<int64_t>()->default_value(12), "query heads")(
      "kv-heads", po::value<int64_t>()->default_value(0), "key/value heads (0: same as --heads)")(
      "head-dim", po::value<int64_t>()->default_value(64), "head dimension")(
      "dtype", po::value<std::string>()->default_value("fp32"), "fp32, fp64 or bf16")(
      "repeats", po::value<int>()->default_value(3),
      "timed steps per measurement (median reported)")(
      "naive-dense", "also measure textbook dense attention (full score matrix) as a baseline");
  add_common_options(options);
  const auto parsed = parse_args("bench attention", kUsage, options, args);
  if (parsed.help) return 0;
  const auto& vm = parsed.vm;
  bench::AttentionShape s{vm["batch"].as<int64_t>(),
               vm["heads"].as<int64_t>(),
               vm["kv-heads"].as<int64_t>(),
               vm["head-dim"].as<int64_t>(),
               parse_dtype(vm["dtype"].as<std::string>()),
               vm["repeats"].as<int>()};
  if (s.kv_heads == 0) s.kv_heads = s.heads;
  if (s.batch < 1 || s.heads < 1 || s.head_dim < 1 || s.repeats < 1 || s.kv_heads < 1 ||
      s.heads % s.kv_heads) {
    throw UsageError(
        "--batch, --heads, --head-dim and --repeats must be >= 1 and --heads a multiple of "
        "--kv-heads");
  }
  const auto seqs = parse_seqs(vm["seq"].as<std::string>());
  plugin::PluginRegistry registry(plugin_dir(vm));
  std::vector<bench::AttentionSubject> subjects;
  for (const auto& name : split(vm["plugins"].as<std::string>()))
    subjects.push_back({name, &registry.load(name)});
  if (subjects.empty() || seqs.empty())
    throw UsageError("--plugins and --seq must each name at least one");
  if (vm.count("naive-dense")) subjects.push_back({"naive_dense", &registry.load("dense"), true});
  store::Store db(vm["db"].as<std::string>());
  const std::string device = "cpu, " + std::to_string(torch::get_num_threads()) + " threads";

  std::cout
      << "attention bench: B=" << s.batch << " H=" << s.heads << " K=" << s.kv_heads
      << " D=" << s.head_dim << " dtype=" << vm["dtype"].as<std::string>()
      << " repeats=" << s.repeats << " threads=" << torch::get_num_threads() << "\n"
      << "peak = VmHWM of a fresh process per measurement; extra = peak minus RSS after warm-up\n\n"
      << std::left << std::setw(14) << "plugin" << std::right << std::setw(7) << "T"
      << std::setw(11) << "fwd ms" << std::setw(10) << "GFLOP/s" << std::setw(11) << "extra MiB"
      << std::setw(13) << "fwd+bwd ms" << std::setw(10) << "GFLOP/s" << std::setw(11) << "extra MiB"
      << std::setw(11) << "peak MiB"
      << "\n";
  for (const auto& subject : subjects) {
    for (const int64_t T : seqs) {
      std::cerr << "measuring " << subject.name << " T=" << T << " ...\n";
      const auto r = bench::bench_attention_row(subject, T, s);
      std::cout << std::left << std::setw(14) << subject.name << std::right << std::setw(7) << T
                << std::fixed << std::setprecision(1) << std::setw(11) << r.fwd_ms << std::setw(10)
                << r.fwd_gflops << std::setw(11) << r.fwd_extra_mib << std::setw(13) << r.fwdbwd_ms
                << std::setw(10) << r.fwdbwd_gflops << std::setw(11) << r.fwdbwd_extra_mib
                << std::setw(11) << r.peak_mib << "\n"
                << std::flush;
      db.add_bench_attention({subject.name, T, s.batch, s.heads, s.head_dim,
                              vm["dtype"].as<std::string>(), r.fwd_ms, r.fwdbwd_ms,
                              static_cast<int64_t>(r.peak_mib * 1024 * 1024), r.fwdbwd_gflops,
                              device, "",
                              static_cast<int64_t>(std::max(0.0, r.fwdbwd_extra_mib) * 1024 * 1024)});
    }
  }
  std::cout << "rows added to " << db.path() << " (bench_attention)\n";
  return 0;
}

const char* kTrainUsage =
    "--preset tiny --plugins dense,gated_window --seq 512,1024 [--batch B --steps N "
    "--warmup W --threads N --peak-flops F --db PATH --config-dir DIR]\n\n"
    "Measures full training steps (forward, backward, gradient clipping, AdamW) of each model\n"
    "preset (experiments/model/<preset>.yaml) with each attention plugin at each length, on\n"
    "random tokens: the base experiment (--experiment, default smoke) composed with\n"
    "model=<preset> attention=<plugin> train.seq_len=T train.batch_size=B. Reports the median\n"
    "step time of N timed steps after W warm-up steps, tokens/s = B*T / step time, the peak\n"
    "resident memory (each measurement in a fresh process) and MFU = FLOPs/token * tokens/s /\n"
    "peak FLOP/s. The peak is a 2048^3 fp32 matmul probe measured once per host and thread\n"
    "count and cached in --peak-flops-cache; --peak-flops declares it instead (e.g. a GPU's).";

int bench_train(const Args& args) {
  po::options_description options("bench train options");
  options.add_options()("preset", po::value<std::string>()->default_value("tiny"),
                        "comma-separated model presets (experiments/model/<preset>.yaml)")(
      "plugins", po::value<std::string>()->default_value("dense"),
      "comma-separated attention plugins")(
      "seq", po::value<std::string>()->default_value("512,1024"),
      "comma-separated sequence lengths")("batch", po::value<int64_t>()->default_value(4),
                                          "sequences per step (B)")(
      "steps", po::value<int>()->default_value(5), "timed steps (median reported)")(
      "warmup", po::value<int>()->default_value(2), "untimed steps before timing")(
      "threads", po::value<int>()->default_value(0),
      "intra-op threads (0: the config's train.threads, whose 0 means every core)")(
      "peak-flops", po::value<double>(), "declared peak FLOP/s for MFU (skips the probe)")(
      "peak-flops-cache", po::value<std::string>()->default_value("results/peak_flops.json"),
      "file caching the probe's peak per host/device/dtype/threads")(
      "experiment", po::value<std::string>()->default_value("smoke"),
      "base experiment the overrides apply to (name or path)")(
      "config-dir", po::value<std::vector<std::string>>()->composing(),
      "extra config search directory, searched before ./experiments (repeatable)");
  add_common_options(options);
  const auto parsed = parse_args("bench train", kTrainUsage, options, args);
  if (parsed.help) return 0;
  const auto& vm = parsed.vm;
  bench::BenchTrainOptions o;
  o.presets = split(vm["preset"].as<std::string>());
  o.variants = split(vm["plugins"].as<std::string>());
  o.seq_lens = parse_seqs(vm["seq"].as<std::string>());
  o.batch = vm["batch"].as<int64_t>();
  o.steps = vm["steps"].as<int>();
  o.warmup = vm["warmup"].as<int>();
  o.threads = vm["threads"].as<int>();
  o.base_experiment = vm["experiment"].as<std::string>();
  o.peak_flops_cache = vm["peak-flops-cache"].as<std::string>();
  if (vm.count("peak-flops")) {
    o.declared_peak_flops = vm["peak-flops"].as<double>();
    if (!(*o.declared_peak_flops > 0))
      throw UsageError("--peak-flops must be a positive FLOP/s value, e.g. 989e12");
  }
  if (vm.count("config-dir")) {
    for (const auto& d : vm["config-dir"].as<std::vector<std::string>>()) o.config_dirs.push_back(d);
  }
  o.config_dirs.push_back(default_experiments_dir());
  if (o.presets.empty() || o.variants.empty() || o.seq_lens.empty())
    throw UsageError("--preset, --plugins and --seq must each name at least one");
  if (o.batch < 1 || o.steps < 1 || o.warmup < 0 || o.threads < 0)
    throw UsageError("--batch and --steps must be >= 1, --warmup and --threads >= 0");

  store::Store db(vm["db"].as<std::string>());
  const auto rows =
      bench::bench_train(o, std::make_shared<plugin::PluginRegistry>(plugin_dir(vm)), std::cerr);
  std::cout << "train bench: full steps (fwd+bwd+clip+AdamW), fp32, random tokens, median of "
            << o.steps << " steps after " << o.warmup
            << " warm-up; peak = VmHWM of a fresh process per row\n\n";
  bench::print_bench_train_table(std::cout, rows);
  for (const auto& r : rows) {
    db.add_bench_train({r.preset, r.variant, r.seq, r.batch, r.m.tokens_per_s, r.m.step_s * 1e3,
                        static_cast<int64_t>(r.m.peak_mib * 1024 * 1024), r.mfu,
                        "cpu, " + std::to_string(r.threads) + " threads", ""});
  }
  std::cout << "rows added to " << db.path() << " (bench_train)\n";
  return 0;
}

}  // namespace

int cmd_bench(const Args& args) {
  const std::string usage =
      "usage: attnlab bench attention|train [options]  (attnlab bench <what> --help for each)\n"
      "  attention  attention plugins alone: forward and forward+backward time, memory, GFLOP/s\n"
      "  train      full training steps of a model preset: tokens/s, step time, memory, MFU\n";
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << usage;
    return 0;
  }
  const Args rest = args.empty() ? Args{} : Args(args.begin() + 1, args.end());
  if (!args.empty() && args[0] == "attention") return bench_attention(rest);
  if (!args.empty() && args[0] == "train") return bench_train(rest);
  throw UsageError((args.empty() ? std::string("no benchmark named")
                                 : "unknown benchmark '" + args[0] + "'") +
                   "; expected 'attnlab bench attention' or 'attnlab bench train'");
}

}  // namespace attnlab::cli
