// attnlab bench attention: times attention plugins forward and forward+backward over a list
// of sequence lengths and measures their peak memory. Every measurement runs in a fresh
// fork()ed child, so each peak is that measurement's own: the child fixes malloc's mmap
// threshold (large blocks go back to the OS on free), resets the RSS high-water mark after a
// warm-up step (/proc/self/clear_refs), and reports VmHWM from /proc/self/status.
#include <malloc.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "attnlab/attention_variant.h"
#include "attnlab/plugin/registry.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {
namespace {

const char* kUsage =
    "attention --plugins a,b --seq 512,1024,... [--batch B --heads H --kv-heads K --head-dim D "
    "--dtype fp32|fp64|bf16 --repeats N --naive-dense --plugin-dir DIR]\n\n"
    "Times each plugin (default options) forward and forward+backward on random inputs: the "
    "median\n"
    "of N timed steps after one warm-up step, the peak resident memory above the inputs (each\n"
    "measurement in a fresh process) and GFLOP/s from the plugin's own FLOPs count.\n"
    "--naive-dense adds a row for textbook dense attention that materialises the [B, H, T, T]\n"
    "scores (a baseline to compare the blocked kernels against; FLOPs counted as dense's).";

// What one row measures: a plugin's variant, or (plugin == dense, naive) the textbook formula.
struct Subject {
  std::string name;
  const plugin::LoadedPlugin* plugin;
  bool naive = false;
};

// softmax(q kᵀ/√D + causal mask) v with the full score matrix, through plain autograd.
torch::Tensor naive_dense(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t group = q.size(1) / k.size(1), T = q.size(2);
  auto s = torch::matmul(q, k.repeat_interleave(group, 1).transpose(-2, -1)) /
           std::sqrt(double(q.size(3)));
  s = s.masked_fill(torch::ones({T, T}, torch::kBool).triu(1), -INFINITY);
  return torch::matmul(torch::softmax(s, -1), v.repeat_interleave(group, 1));
}

struct BenchShape {
  int64_t batch, heads, kv_heads, head_dim;
  torch::Dtype dtype;
  int repeats;
};

struct Measurement {
  double median_s = 0, peak_mib = 0, extra_mib = 0;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

double status_mib(const char* field) {  // a "VmXXX:  1234 kB" line of /proc/self/status
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::strlen(field))) / 1024.0;
  }
  return 0;
}

// Runs in the child: warm-up, reset the high-water mark, `repeats` timed steps.
Measurement measure_here(const Subject& subject, int64_t T, const BenchShape& s, bool backward) {
  mallopt(M_MMAP_THRESHOLD, 1 << 16);
  torch::manual_seed(0);
  const attnlab_layer_dims dims{s.heads * s.head_dim, s.heads, s.kv_heads, s.head_dim, 1, 0};
  auto variant = subject.plugin->create(dims, nlohmann::json::object());
  variant->to(s.dtype);
  const auto o = torch::TensorOptions().dtype(s.dtype).requires_grad(backward);
  auto q = torch::randn({s.batch, s.heads, T, s.head_dim}, o);
  auto k = torch::randn({s.batch, s.kv_heads, T, s.head_dim}, o);
  auto v = torch::randn({s.batch, s.kv_heads, T, s.head_dim}, o);
  const auto x = torch::randn({s.batch, T, dims.d_model}, torch::TensorOptions().dtype(s.dtype));
  const auto dy =
      torch::randn({s.batch, s.heads, T, s.head_dim}, torch::TensorOptions().dtype(s.dtype));
  AttentionContext ctx;
  ctx.x_BTC = &x;
  const auto forward = [&] {
    return subject.naive ? naive_dense(q, k, v) : variant->forward(q, k, v, ctx);
  };
  const auto step = [&] {
    if (!backward) {
      torch::NoGradGuard no_grad;
      forward();
      return;
    }
    forward().backward(dy);
    for (auto* t : {&q, &k, &v}) t->mutable_grad() = torch::Tensor();
    for (auto& p : variant->parameters()) p.mutable_grad() = torch::Tensor();
  };
  step();
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
  const double base = status_mib("VmRSS:");
  std::vector<double> times;
  for (int r = 0; r < s.repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  Measurement m;
  m.median_s = times[times.size() / 2];
  m.peak_mib = status_mib("VmHWM:");
  m.extra_mib = m.peak_mib - base;
  return m;
}

// Forks, measures in the child, returns its result (or throws naming what failed).
Measurement measure(const Subject& subject, int64_t T, const BenchShape& s, bool backward) {
  int fds[2];
  if (pipe(fds) != 0)
    throw std::runtime_error("bench: pipe() failed: " + std::string(std::strerror(errno)));
  const pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("bench: fork() failed: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    close(fds[0]);
    int rc = 0;
    try {
      const Measurement m = measure_here(subject, T, s, backward);
      rc = write(fds[1], &m, sizeof(m)) == sizeof(m) ? 0 : 3;
    } catch (const std::exception& e) {
      std::cerr << "bench child: " << e.what() << "\n";
      rc = 2;
    }
    _exit(rc);
  }
  close(fds[1]);
  Measurement m;
  const auto got = read(fds[0], &m, sizeof(m));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof(m)) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(
        "bench: measuring " + subject.name + " at T=" + std::to_string(T) +
        (WIFSIGNALED(status)
             ? " was killed by signal " + std::to_string(WTERMSIG(status)) + " (out of memory?)"
             : " failed (see the message above)"));
  }
  return m;
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "fp32") return torch::kFloat;
  if (name == "fp64") return torch::kDouble;
  if (name == "bf16") return torch::kBFloat16;
  throw UsageError("--dtype " + name + " is not supported; use fp32, fp64 or bf16");
}

int bench_attention(const ParsedArgs& parsed) {
  const auto& vm = parsed.vm;
  BenchShape s{vm["batch"].as<int64_t>(),
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
  std::vector<int64_t> seqs;
  for (const auto& t : split(vm["seq"].as<std::string>())) {
    try {
      seqs.push_back(std::stoll(t));
    } catch (const std::exception&) {
      throw UsageError("--seq: '" + t + "' is not a sequence length; give e.g. --seq 512,1024");
    }
    if (seqs.back() < 1) throw UsageError("--seq: lengths must be >= 1, got " + t);
  }
  plugin::PluginRegistry registry(vm.count("plugin-dir")
                                      ? std::filesystem::path(vm["plugin-dir"].as<std::string>())
                                      : default_plugin_dir());
  std::vector<Subject> subjects;
  for (const auto& name : split(vm["plugins"].as<std::string>()))
    subjects.push_back({name, &registry.load(name)});
  if (subjects.empty() || seqs.empty())
    throw UsageError("--plugins and --seq must each name at least one");
  if (vm.count("naive-dense")) subjects.push_back({"naive_dense", &registry.load("dense"), true});

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
      const Measurement fwd = measure(subject, T, s, false), both = measure(subject, T, s, true);
      const attnlab_layer_dims dims{s.heads * s.head_dim, s.heads, s.kv_heads, s.head_dim, 1, 0};
      const auto flops = subject.plugin->create(dims, nlohmann::json::object())->flops(T);
      const double b = static_cast<double>(s.batch);
      std::cout << std::left << std::setw(14) << subject.name << std::right << std::setw(7) << T
                << std::fixed << std::setprecision(1) << std::setw(11) << fwd.median_s * 1e3
                << std::setw(10) << b * flops.forward / fwd.median_s / 1e9 << std::setw(11)
                << fwd.extra_mib << std::setw(13) << both.median_s * 1e3 << std::setw(10)
                << b * (flops.forward + flops.backward) / both.median_s / 1e9 << std::setw(11)
                << both.extra_mib << std::setw(11) << both.peak_mib << "\n"
                << std::flush;
    }
  }
  return 0;
}

}  // namespace

int cmd_bench(const Args& args) {
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
      "naive-dense", "also measure textbook dense attention (full score matrix) as a baseline")(
      "plugin-dir", po::value<std::string>(),
      "directory of libattnlab_<name>.so (default: next to attnlab)");
  const auto parsed = parse_args("bench", kUsage, options, args, "what");
  if (parsed.help) return 0;
  if (parsed.positional.size() != 1 || parsed.positional[0] != "attention") {
    throw UsageError("expected 'attnlab bench attention [options]' (the only benchmark so far)");
  }
  return bench_attention(parsed);
}

}  // namespace attnlab::cli
