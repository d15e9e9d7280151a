// attnlab bench: `attention` times attention plugins forward and forward+backward over a list
// of sequence lengths and measures their peak memory; `train` measures full training steps of
// a model preset per attention variant (tokens/s, step time, peak memory, MFU); both on the
// CPU or a GPU (--device). This file parses flags, prints tables and stores rows
// (bench_attention and bench_train tables); the measuring lives in core/bench (each
// measurement in a fresh process: its peak is its own).
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
    "--plugins a,b|all --seq 512,1024,... [--batch B --heads H --kv-heads K --head-dim D "
    "--dtype fp32|fp64|bf16 --device cpu|cuda|cuda:N --repeats N --naive-dense --plugin-dir DIR "
    "--db PATH]\n\n"
    "Times each plugin (default options; all: every installed one) forward and forward+backward\n"
    "on random inputs: the median of N timed steps after one warm-up step, the peak memory\n"
    "above the inputs (each measurement in a fresh process) and GFLOP/s from the plugin's own\n"
    "FLOPs count.\n"
    "--naive-dense adds a row for textbook dense attention that materialises the [B, H, T, T]\n"
    "scores (a baseline to compare the blocked kernels against; FLOPs counted as dense's).\n"
    "On a GPU (--device cuda, a CUDA build) the inputs live there in --dtype, steps are timed\n"
    "with CUDA events, memory is the CUDA allocator's (live tensors; reserved in its own\n"
    "column) and a last column names the attention backends that ran.";

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

// bench train's --dtype: the trainer's train.dtype.
std::string parse_train_dtype(const std::string& name) {
  if (name == "fp32" || name == "bf16") return name;
  throw UsageError("--dtype " + name +
                   " is not supported by bench train; use fp32 or bf16 (autocast, fp32 master "
                   "weights)");
}

// --device, checked before anything is measured (a GPU in a fresh process: bench_device.h).
bench::BenchDevice parse_device(const po::variables_map& vm) {
  try {
    return bench::checked_bench_device(vm["device"].as<std::string>());
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
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

// The options every benchmark takes: the device, where plugins are and where rows are stored.
void add_common_options(po::options_description& options) {
  options.add_options()("device", po::value<std::string>()->default_value("cpu"),
                        "cpu, cuda (this process's GPU) or cuda:N (needs a CUDA build)")(
      "plugin-dir", po::value<std::string>(),
      "directory of libattnlab_<name>.so (default: next to attnlab)")(
      "db", po::value<std::string>()->default_value(default_db_path()),
      "results store the rows are added to (ATTNLAB_DB overrides the default)");
}

// The settings line, what the memory columns mean, the column names; `gpu` (the device's label,
// "" on the CPU) adds the CUDA allocator's reserved memory and the backends that ran.
void print_attention_header(const bench::AttentionShape& s, const std::string& dtype,
                            const std::string& gpu) {
  std::cout
      << "attention bench: B=" << s.batch << " H=" << s.heads << " K=" << s.kv_heads
      << " D=" << s.head_dim << " dtype=" << dtype << " repeats=" << s.repeats
      << " threads=" << torch::get_num_threads() << (gpu.empty() ? "" : " device=" + gpu) << "\n"
      << (gpu.empty() ? "peak = VmHWM of a fresh process per measurement; extra = peak minus RSS "
                        "after warm-up\n\n"
                      : "peak = the CUDA allocator's high-water mark of live tensors in a fresh "
                        "process per measurement; extra = peak minus what was live after "
                        "warm-up; reserved = the memory the allocator held\n\n")
      << std::left << std::setw(14) << "plugin" << std::right << std::setw(7) << "T"
      << std::setw(11) << "fwd ms" << std::setw(10) << "GFLOP/s" << std::setw(11) << "extra MiB"
      << std::setw(13) << "fwd+bwd ms" << std::setw(10) << "GFLOP/s" << std::setw(11) << "extra MiB"
      << std::setw(11) << "peak MiB" << (gpu.empty() ? "" : "  reserved MiB  backend") << "\n";
}

// One row; times in ms to 0.1 on the CPU, to 0.001 on a GPU (where a step takes well under 1 ms).
void print_attention_row(const std::string& name, int64_t T, const bench::AttentionRow& r,
                         bool gpu) {
  const int ms = gpu ? 3 : 1;
  std::cout << std::left << std::setw(14) << name << std::right << std::setw(7) << T << std::fixed
            << std::setprecision(ms) << std::setw(11) << r.fwd_ms << std::setprecision(1)
            << std::setw(10) << r.fwd_gflops << std::setw(11) << r.fwd_extra_mib
            << std::setprecision(ms) << std::setw(13) << r.fwdbwd_ms << std::setprecision(1)
            << std::setw(10) << r.fwdbwd_gflops << std::setw(11) << r.fwdbwd_extra_mib
            << std::setw(11) << r.peak_mib;
  if (gpu) std::cout << std::setw(14) << r.reserved_mib << "  " << r.backend;
  std::cout << "\n" << std::defaultfloat << std::flush;
}

int bench_attention(const Args& args) {
  po::options_description options("bench attention options");
  options.add_options()("plugins", po::value<std::string>()->default_value("dense,fixed_window"),
                        "comma-separated plugin names, or all (every plugin installed)")(
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
  const auto where = parse_device(vm);
  const bool gpu = !where.device.is_cpu();
  bench::AttentionShape s{vm["batch"].as<int64_t>(),
               vm["heads"].as<int64_t>(),
               vm["kv-heads"].as<int64_t>(),
               vm["head-dim"].as<int64_t>(),
               parse_dtype(vm["dtype"].as<std::string>()),
               vm["repeats"].as<int>(),
               where.device};
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
  auto names = split(vm["plugins"].as<std::string>());
  if (names == std::vector<std::string>{"all"}) names = registry.available();
  for (const auto& name : names) subjects.push_back({name, &registry.load(name)});
  if (subjects.empty() || seqs.empty())
    throw UsageError("--plugins and --seq must each name at least one");
  if (vm.count("naive-dense")) subjects.push_back({"naive_dense", &registry.load("dense"), true});
  store::Store db(vm["db"].as<std::string>());
  const std::string device = bench::device_label(where, torch::get_num_threads());

  print_attention_header(s, vm["dtype"].as<std::string>(), gpu ? device : "");
  for (const auto& subject : subjects) {
    for (const int64_t T : seqs) {
      std::cerr << "measuring " << subject.name << " T=" << T << " ...\n";
      const auto r = bench::bench_attention_row(subject, T, s);
      print_attention_row(subject.name, T, r, gpu);
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
    "--warmup W --threads N --device cpu|cuda|cuda:N --dtype fp32|bf16 --peak-flops F --db PATH "
    "--config-dir DIR]\n\n"
    "Measures full training steps (forward, backward, gradient clipping, AdamW) of each model\n"
    "preset (experiments/model/<preset>.yaml) with each attention plugin at each length, on\n"
    "random tokens: the base experiment (--experiment, default smoke) composed with\n"
    "model=<preset> attention=<plugin> train.seq_len=T train.batch_size=B train.device=<device>\n"
    "train.dtype=<dtype>. Reports the median step time of N timed steps after W warm-up steps,\n"
    "tokens/s = B*T / step time, the peak memory (each measurement in a fresh process: the\n"
    "resident set on the CPU; on a GPU the CUDA allocator's live tensors, and what it reserved\n"
    "in a last column) and MFU = FLOPs/token * tokens/s / peak FLOP/s. The peak: --peak-flops\n"
    "if given; for bf16 on a GPU its datasheet dense bf16 peak (H100, H200, A100); else a\n"
    "2048^3 matmul probe on the device in the dtype, measured once per host, device, dtype and\n"
    "thread count and cached in --peak-flops-cache. --dtype bf16 runs the forward passes\n"
    "under autocast (fp32 master weights and optimizer state), as training does.";

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
      "dtype", po::value<std::string>()->default_value("fp32"),
      "fp32, or bf16 (autocast with fp32 master weights)")(
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
  o.device = parse_device(vm);
  o.dtype = parse_train_dtype(vm["dtype"].as<std::string>());
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
  const bool gpu = !o.device.device.is_cpu();
  std::cout << "train bench: full steps (fwd+bwd+clip+AdamW), "
            << (o.dtype == "fp32" ? "fp32" : "bf16 autocast (fp32 master weights)")
            << (gpu ? " on " + bench::device_label(o.device, 0) : "")
            << ", random tokens, median of " << o.steps << " steps after " << o.warmup
            << " warm-up; peak = "
            << (gpu ? "the CUDA allocator's high-water mark of live tensors after warm-up "
                      "(reserved: of the memory it held), a fresh process per row\n\n"
                    : "VmHWM of a fresh process per row\n\n");
  bench::print_bench_train_table(std::cout, rows, gpu);
  const std::string precision = o.dtype == "fp32" ? "" : ", " + o.dtype;
  for (const auto& r : rows) {
    db.add_bench_train({r.preset, r.variant, r.seq, r.batch, r.m.tokens_per_s, r.m.step_s * 1e3,
                        static_cast<int64_t>(r.m.peak_mib * 1024 * 1024), r.mfu,
                        bench::device_label(o.device, r.threads) + precision, ""});
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
