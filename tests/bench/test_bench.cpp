// Tests of the benchmarks: the fresh-process helper (results, errors, its own peak RSS), the
// peak FLOP/s probe and its cache file (and the datasheet peak for bf16 on a GPU), MFU and the
// tiny model's FLOPs/params against hand computations, bf16 autocast steps on the CPU,
// `attnlab bench train|attention` run end to end on tiny shapes (rows, columns, finite positive
// numbers, store rows), never their speed, and --device / --dtype checked before measuring.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "attnlab/store/store.h"
#include "attnlab/bench/train_bench.h"
#include "attnlab/bench/fresh_process.h"
#include "attnlab/bench/peak_flops.h"
#include "attnlab/device/device.h"
#include "attnlab/train/mfu.h"

namespace fs = std::filesystem;
using namespace attnlab;

namespace {

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() /
                   ("attnlab_test_bench_" + std::to_string(getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

struct CommandResult {
  int rc;
  std::string out;  // stdout and stderr together
};

// Runs the attnlab executable with `args` from the source root; returns exit code and output.
CommandResult run_attnlab(const std::string& args) {
  const std::string cmd = std::string("cd ") + ATTNLAB_SOURCE_DIR + " && " + ATTNLAB_BINARY_DIR +
                          "/attnlab " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The header starting with `header_start` and the rows after it (split into words), up to
// the first empty line, skipping progress lines.
std::vector<std::vector<std::string>> table_after(const std::string& text,
                                                  const std::string& header_start) {
  std::istringstream in(text);
  std::vector<std::vector<std::string>> rows;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (!inside) {
      inside = line.rfind(header_start, 0) == 0;
      if (inside) {
        std::istringstream words(line);
        rows.emplace_back(std::istream_iterator<std::string>(words),
                          std::istream_iterator<std::string>());
      }
      continue;
    }
    if (line.empty() || line.rfind("rows added", 0) == 0) break;
    if (line.rfind("measuring", 0) == 0) continue;  // progress on stderr, interleaved
    std::istringstream words(line);
    rows.emplace_back(std::istream_iterator<std::string>(words),
                      std::istream_iterator<std::string>());
  }
  return rows;
}

double positive_number(const std::string& field) {
  const double v = std::stod(field);
  INFO(field);
  CHECK(std::isfinite(v));
  CHECK(v > 0);
  return v;
}

bench::BenchTrainOptions tiny_options() {
  bench::BenchTrainOptions o;
  o.presets = {"tiny"};
  o.variants = {"dense"};
  o.seq_lens = {64};
  o.batch = 2;
  o.threads = 1;
  o.config_dirs = {fs::path(ATTNLAB_SOURCE_DIR) / "experiments"};
  return o;
}

}  // namespace

TEST_CASE("run_in_fresh_process returns the child's result and its own peak RSS") {
  struct Result {
    double value, baseline_mib, peak_mib;
  };
  std::mt19937 rng(std::random_device{}());
  const double value = std::uniform_real_distribution<double>(1.0, 2.0)(rng);
  const auto r = bench::run_in_fresh_process<Result>("test child", [&] {
    bench::release_freed_memory_to_os();
    bench::reset_peak_rss();
    const double base = bench::rss_mib();
    {
      std::vector<char> block(200u << 20, 1);  // 200 MiB, touched
      REQUIRE(block[12345] == 1);
    }
    return Result{value * 3, base, bench::peak_rss_mib()};
  });
  CHECK(r.value == value * 3);
  // The child's own peak shows most of the touched block; not all 200 MiB, since memory pressure
  // on a shared machine may swap pages out while it is filled.
  CHECK(r.peak_mib - r.baseline_mib >= 100.0);
  CHECK(bench::peak_rss_mib() < r.peak_mib + 1000);  // sanity: the parent reads its own file
}

TEST_CASE("run_in_fresh_process reports a throwing or killed child by name") {
  CHECK_THROWS_WITH(bench::run_in_fresh_process<int>("probe X",
                                                     []() -> int { throw std::runtime_error("boom"); }),
                    Catch::Contains("probe X") && Catch::Contains("failed"));
  CHECK_THROWS_WITH(bench::run_in_fresh_process<int>("probe Y",
                                                     []() -> int {
                                                       raise(SIGKILL);
                                                       return 0;
                                                     }),
                    Catch::Contains("probe Y") && Catch::Contains("signal 9"));
}

TEST_CASE("MFU is flops_per_token * tokens/s / peak") {
  // Hand computation: 43,585,024 FLOPs/token (tiny, dense, T=64) at 10,000 tokens/s on a
  // 100 GFLOP/s machine: 4.3585024e11 / 1e11 = 4.3585024.
  CHECK(train::model_flops_utilisation(43585024.0, 1e4, 1e11) == Approx(4.3585024));
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> u(1.0, 1e9);
  const double f = u(rng), t = u(rng), p = u(rng) * 1e3;
  CHECK(train::model_flops_utilisation(f, t, p) == Approx(f * t / p).epsilon(1e-12));
  CHECK_THROWS_WITH(train::model_flops_utilisation(f, t, 0.0), Catch::Contains("positive"));
}

TEST_CASE("the peak FLOP/s cache file round-trips and keeps other keys") {
  const auto dir = fresh_dir("cache");
  const auto file = dir / "sub" / "peak_flops.json";
  const auto key = bench::peak_flops_key(torch::Device("cpu"), torch::kFloat32, 3);
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  CHECK(key == std::string(host) + "/cpu/Float/threads=3");
  CHECK_FALSE(bench::read_cached_peak_flops(file, key).has_value());  // no file yet
  std::mt19937 rng(std::random_device{}());
  const double a = std::uniform_real_distribution<double>(1e9, 1e12)(rng), b = a * 1.5;
  bench::write_cached_peak_flops(file, key, a);
  bench::write_cached_peak_flops(file, "other/cpu/Float/threads=1", b);
  REQUIRE(bench::read_cached_peak_flops(file, key).has_value());
  CHECK(*bench::read_cached_peak_flops(file, key) == a);
  CHECK(*bench::read_cached_peak_flops(file, "other/cpu/Float/threads=1") == b);
  CHECK_FALSE(bench::read_cached_peak_flops(file, "absent").has_value());
  std::ofstream(file) << "{\"k\": \"fast\"}";
  CHECK_THROWS_WITH(bench::read_cached_peak_flops(file, key),
                    Catch::Contains(file.string()) && Catch::Contains("delete the file"));
  std::ofstream(file) << "not json";
  CHECK_THROWS_WITH(bench::read_cached_peak_flops(file, key), Catch::Contains(file.string()));
  fs::remove_all(dir);
}

TEST_CASE("the probe and peak_flops_for: measured once, then read from the cache") {
  const double small = bench::run_in_fresh_process<double>("small probe", [] {
    torch::set_num_threads(1);
    return bench::measure_peak_flops(torch::Device("cpu"), torch::kFloat32, 256);
  });
  // A measurement, not a speed target: a loaded machine may be arbitrarily slow, so only a
  // positive, finite rate is required (benchmarks/ judges speed).
  CHECK(std::isfinite(small));
  CHECK(small > 0);
  const auto dir = fresh_dir("probe");
  auto o = tiny_options();
  o.peak_flops_cache = dir / "peak.json";
  std::ostringstream log;
  const double measured = bench::peak_flops_for(o, 1, log);
  CHECK(log.str().find("measured") != std::string::npos);
  const auto key = bench::peak_flops_key(torch::Device("cpu"), torch::kFloat32, 1);
  CHECK(*bench::read_cached_peak_flops(o.peak_flops_cache, key) == measured);
  bench::write_cached_peak_flops(o.peak_flops_cache, key, 123.0);  // the cache is what is used
  CHECK(bench::peak_flops_for(o, 1, log) == 123.0);
  o.declared_peak_flops = 7e14;
  CHECK(bench::peak_flops_for(o, 1, log) == 7e14);
  fs::remove_all(dir);
}

TEST_CASE("peak_flops_for: bf16 on a known GPU is its datasheet peak, unless one is declared") {
  auto o = tiny_options();
  o.peak_flops_cache.clear();  // nothing may be probed or cached
  o.device = {torch::Device(torch::kCUDA, 0), "NVIDIA H100 80GB HBM3"};  // only named, never used
  o.dtype = "bf16";
  std::ostringstream log;
  CHECK(bench::peak_flops_for(o, 1, log) == 989.4e12);
  CHECK(log.str().find("datasheet dense bf16 peak of NVIDIA H100 80GB HBM3") != std::string::npos);
  o.device.name = "NVIDIA H100 PCIe";
  CHECK(bench::peak_flops_for(o, 1, log) == 756e12);
  o.declared_peak_flops = 5e14;
  CHECK(bench::peak_flops_for(o, 1, log) == 5e14);
}

TEST_CASE("measure_train_steps on tiny: FLOPs and parameters by hand, a sane loss") {
  auto o = tiny_options();
  auto plugins = std::make_shared<plugin::PluginRegistry>(fs::path(ATTNLAB_BINARY_DIR) / "plugins");
  const auto spec = bench::bench_spec(o, "tiny", "dense", 64, plugins);
  CHECK(spec.train.seq_len == 64);
  CHECK(spec.train.batch_size == 2);
  const auto m = bench::run_in_fresh_process<bench::BenchTrainMeasurement>(
      "tiny step", [&] { return bench::measure_train_steps(spec, *plugins, 1, 2); });
  // tiny: C=128, L=4, H=4, K=2, D=32, F=384, V=50304, tied embedding.
  // Matmul params per layer: q 128*128 + k,v 2*128*64 + o 128*128 + SwiGLU 3*128*384 = 196,608;
  // 4 layers + the LM head 50304*128 = 7,225,344; 6N = 43,352,064.
  // Dense attention, T=64: forward 4*D*H*T(T+1)/2 = 512*2080 = 1,064,960 per layer, backward
  // 2.5x: 3.5 * 1,064,960 * 4 layers / 64 tokens = 232,960 per token.
  CHECK(m.flops_per_token == 43352064.0 + 232960.0);
  // Parameters: 7,225,344 matmul + per layer 2*128 pre-norms + 2*32 q/k norms, + 128 final.
  CHECK(m.n_params == 7225344.0 + 4 * (256 + 64) + 128);
  CHECK(std::abs(m.last_loss - std::log(50304.0)) < 0.5);  // random tokens: near uniform
  CHECK(m.step_s > 0);
  CHECK(m.tokens_per_s == Approx(2 * 64 / m.step_s));
  CHECK(m.peak_mib > 10);
}

TEST_CASE("measure_train_steps with train.dtype=bf16 on the CPU: autocast steps, a sane loss") {
  auto o = tiny_options();
  o.dtype = "bf16";
  auto plugins = std::make_shared<plugin::PluginRegistry>(fs::path(ATTNLAB_BINARY_DIR) / "plugins");
  const auto spec = bench::bench_spec(o, "tiny", "gated_window", 64, plugins);
  CHECK(spec.train.dtype == "bf16");
  CHECK(spec.train.device == "cpu");
  const auto m = bench::run_in_fresh_process<bench::BenchTrainMeasurement>(
      "tiny bf16 step", [&] { return bench::measure_train_steps(spec, *plugins, 1, 1); });
  CHECK(std::isfinite(m.last_loss));
  CHECK(std::abs(m.last_loss - std::log(50304.0)) < 0.5);
  CHECK(m.tokens_per_s > 0);
  CHECK(m.reserved_mib == 0);  // a CPU measurement has no allocator reserve
}

TEST_CASE("bench_train rejects an unknown preset with the config error") {
  auto o = tiny_options();
  auto plugins = std::make_shared<plugin::PluginRegistry>(fs::path(ATTNLAB_BINARY_DIR) / "plugins");
  CHECK_THROWS_WITH(bench::bench_spec(o, "no_such_preset", "dense", 64, plugins),
                    Catch::Contains("no_such_preset"));
  CHECK_THROWS_WITH(bench::bench_spec(o, "tiny", "no_such_plugin", 64, plugins),
                    Catch::Contains("no_such_plugin"));
}

TEST_CASE("attnlab bench train: one table row and one store row per variant and length") {
  const auto dir = fresh_dir("cli_train");
  const auto db = (dir / "bench.db").string();
  const auto r = run_attnlab("bench train --preset tiny --plugins dense,gated_window --seq 64,128 "
                             "--batch 2 --steps 2 --warmup 1 --threads 1 --db " + db +
                             " --peak-flops-cache " + (dir / "peak.json").string());
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const auto rows = table_after(r.out, "preset");
  REQUIRE(rows.size() == 5);  // header + 2 variants x 2 lengths
  const std::vector<std::string> header = {"preset", "variant", "T",     "B",   "threads", "params",
                                           "M",      "step",    "ms",    "tokens/s", "peak",
                                           "MiB",    "GFLOP/s", "MFU",   "%"};
  CHECK(rows[0] == header);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"dense", "64"}, {"dense", "128"}, {"gated_window", "64"}, {"gated_window", "128"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& row = rows[i + 1];
    REQUIRE(row.size() == 11);
    CHECK(row[0] == "tiny");
    CHECK(row[1] == expected[i].first);
    CHECK(row[2] == expected[i].second);
    CHECK(row[3] == "2");
    CHECK(row[4] == "1");
    for (size_t c = 5; c < row.size(); ++c) positive_number(row[c]);
    const double step_ms = std::stod(row[6]), tokens_per_s = std::stod(row[7]);
    CHECK(tokens_per_s == Approx(2 * std::stod(row[2]) / (step_ms / 1e3)).epsilon(0.02));
  }
  // The gates add 4 * (128*4 + 4) = 2,064 parameters: 7.227 M -> 7.229 M.
  CHECK(std::stod(rows[3][5]) == Approx(std::stod(rows[1][5]) + 0.002).margin(0.0011));
  store::Store store(db);
  const auto stored = store.bench_train();
  REQUIRE(stored.size() == 4);
  for (size_t i = 0; i < stored.size(); ++i) {
    CHECK(stored[i].preset == "tiny");
    CHECK(stored[i].variant == expected[i].first);
    CHECK(std::to_string(stored[i].seq) == expected[i].second);
    CHECK(stored[i].batch == 2);
    CHECK(stored[i].tokens_per_s > 0);
    CHECK(stored[i].step_ms > 0);
    CHECK(stored[i].peak_bytes > (10 << 20));
    CHECK(stored[i].mfu > 0);
    CHECK(stored[i].mfu < 1.5);  // a fraction of the probe's peak (slack for a noisy box)
    CHECK(stored[i].device == "cpu, 1 threads");
  }
  CHECK(fs::exists(dir / "peak.json"));
  fs::remove_all(dir);
}

TEST_CASE("attnlab bench attention: rows on stdout and in the store") {
  const auto dir = fresh_dir("cli_attention");
  const auto db = (dir / "bench.db").string();
  const auto r = run_attnlab("bench attention --plugins dense --seq 64,128 --heads 2 "
                             "--head-dim 16 --repeats 2 --db " + db);
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const auto rows = table_after(r.out, "plugin");
  REQUIRE(rows.size() == 3);
  for (size_t i = 1; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 9);
    CHECK(rows[i][0] == "dense");
    for (size_t c = 1; c < rows[i].size(); ++c) {
      // "extra MiB" and GFLOP/s (a loaded box: 8.7 ms for T = 64) may round to 0.0 at this
      // size; the store's unrounded GFLOP/s is checked below.
      if (c == 3 || c == 4 || c == 6 || c == 7) continue;
      positive_number(rows[i][c]);
    }
  }
  store::Store store(db);
  const auto stored = store.bench_attention();
  REQUIRE(stored.size() == 2);
  CHECK(stored[0].seq == 64);
  CHECK(stored[1].seq == 128);
  CHECK(stored[1].fwdbwd_ms > 0);
  CHECK(stored[1].gflops > 0);
  fs::remove_all(dir);
}

TEST_CASE("attnlab bench: bad input is a one-line error naming it") {
  const auto dir = fresh_dir("cli_errors");
  const auto db = " --db " + (dir / "bench.db").string();
  auto r = run_attnlab("bench nosuch");
  CHECK(r.rc != 0);
  CHECK(r.out.find("unknown benchmark 'nosuch'") != std::string::npos);
  r = run_attnlab("bench train --preset nosuch_preset --seq 64 --steps 1" + db);
  CHECK(r.rc != 0);
  CHECK(r.out.find("nosuch_preset") != std::string::npos);
  r = run_attnlab("bench train --seq 64,abc" + db);
  CHECK(r.rc != 0);
  CHECK(r.out.find("'abc' is not a sequence length") != std::string::npos);
  r = run_attnlab("bench train --bogus-flag" + db);
  CHECK(r.rc != 0);
  CHECK(r.out.find("bogus-flag") != std::string::npos);
  r = run_attnlab("bench train --help");
  CHECK(r.rc == 0);
  CHECK(r.out.find("MFU") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("attnlab bench: --device and --dtype are checked before anything is measured") {
  const auto dir = fresh_dir("cli_device");
  const auto db = " --db " + (dir / "bench.db").string();
  const auto check = [](const CommandResult& r, int rc, const std::string& message) {
    INFO(r.out);
    CHECK(r.rc == rc);
    CHECK(r.out.find(message) != std::string::npos);
    CHECK(r.out.find("measuring") == std::string::npos);
  };
  check(run_attnlab("bench train --seq 64 --device gpu" + db), 2, "--device gpu: 'gpu' is not a device");
  check(run_attnlab("bench attention --seq 64 --device cuda:x" + db), 2, "use cpu, cuda");
  check(run_attnlab("bench train --seq 64 --dtype fp16" + db), 2,
        "--dtype fp16 is not supported by bench train; use fp32 or bf16");
  check(run_attnlab("bench attention --seq 64 --dtype int8" + db), 2, "--dtype int8 is not supported");
  if (!device::cuda_build()) {  // this build: a GPU is a clear error, not a crash mid-measurement
    for (const std::string what : {"train", "attention"}) {
      check(run_attnlab("bench " + what + " --seq 64 --device cuda --dtype bf16" + db), 2,
            "--device cuda: needs a CUDA build");
    }
  }
  CHECK_FALSE(fs::exists(dir / "bench.db"));  // refused before the store was opened
  fs::remove_all(dir);
}

TEST_CASE("attnlab bench train --device cpu --dtype bf16: a row with a finite loss, stored as bf16") {
  const auto dir = fresh_dir("cli_bf16");
  const auto db = (dir / "bench.db").string();
  const auto r = run_attnlab("bench train --preset tiny --plugins dense --seq 64 --batch 2 "
                             "--steps 1 --warmup 1 --threads 1 --device cpu --dtype bf16 "
                             "--peak-flops 1e11 --db " + db);
  INFO(r.out);
  REQUIRE(r.rc == 0);  // a non-finite loss is an error
  CHECK(r.out.find("bf16 autocast (fp32 master weights)") != std::string::npos);
  const auto rows = table_after(r.out, "preset");
  REQUIRE(rows.size() == 2);
  REQUIRE(rows[1].size() == 11);  // no GPU column on the CPU
  for (size_t c = 5; c < rows[1].size(); ++c) positive_number(rows[1][c]);
  store::Store store(db);
  REQUIRE(store.bench_train().size() == 1);
  CHECK(store.bench_train()[0].device == "cpu, 1 threads, bf16");
  fs::remove_all(dir);
}
