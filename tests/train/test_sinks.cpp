// The metrics sinks the trainer writes through: TeeSink hands everything to each sink in
// order; ConsoleSink prints the progress, validation and note lines users read.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>

#include "attnlab/train/console_sink.h"
#include "attnlab/train/metric_names.h"
#include "attnlab/train/tee_sink.h"

using namespace attnlab;
using namespace attnlab::train;

namespace {

// Records every call as one line of text.
class RecordingSink : public MetricsSink {
 public:
  std::vector<std::string> calls;
  void log(int64_t step, const MetricValues& v) override {
    calls.push_back("log " + std::to_string(step) + " " + std::to_string(v.size()));
  }
  void eval(int64_t step, const std::string& name, const nlohmann::json& value) override {
    calls.push_back("eval " + std::to_string(step) + " " + name + " " + value.dump());
  }
  void truncate_after(int64_t step) override { calls.push_back("truncate " + std::to_string(step)); }
  void info(const std::string& key, const nlohmann::json& value) override {
    calls.push_back("info " + key + " " + value.dump());
  }
  void note(const std::string& text) override { calls.push_back("note " + text); }
};

// What `body` writes to stdout.
template <class Body>
std::string captured_stdout(Body body) {
  std::fflush(stdout);
  char path[] = "/tmp/attnlab_sinks_XXXXXX";
  const int fd = mkstemp(path);
  const int saved = dup(STDOUT_FILENO);
  dup2(fd, STDOUT_FILENO);
  body();
  std::fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::string text{std::istreambuf_iterator<char>(in), {}};
  std::remove(path);
  return text;
}

std::string format(const char* pattern, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, pattern, value);
  return buf;
}

}  // namespace

TEST_CASE("TeeSink hands every call to each sink in order", "[train][sinks]") {
  RecordingSink a, b;
  TeeSink tee({&a, &b});
  std::mt19937 rng(std::random_device{}());
  const int64_t step = rng() % 1000;
  tee.log(step, {{"x", 1.0}, {"y", 2.0}});
  tee.eval(step, "gate_mean", {{0.5, 0.25}});
  tee.info("n_params", 123);
  tee.truncate_after(step - 1);
  tee.note("hello");
  const std::vector<std::string> expected = {
      "log " + std::to_string(step) + " 2", "eval " + std::to_string(step) + " gate_mean [[0.5,0.25]]",
      "info n_params 123", "truncate " + std::to_string(step - 1), "note hello"};
  CHECK(a.calls == expected);
  CHECK(b.calls == expected);
}

TEST_CASE("ConsoleSink prints progress every log_every steps, the first and the last", "[train][sinks]") {
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> u(0.1, 9.0);
  const double loss = u(rng), val = u(rng), mfu = u(rng) / 100;
  const auto metrics = [&](bool with_mfu) {
    MetricValues v = {{metric::kTrainLoss, loss}, {metric::kTrainLr, 3e-3},
                      {metric::kTrainGradNorm, 0.5}, {metric::kTrainTokensPerS, 1000.0},
                      {metric::kTrainStepTimeS, 0.25}};
    if (with_mfu) v.push_back({metric::kTrainMfu, mfu});
    return v;
  };
  const auto out = captured_stdout([&] {
    ConsoleSink sink("[run] ", 7, 3);
    for (int64_t step = 0; step < 7; ++step) {
      auto v = metrics(step == 2);
      if (step == 5) v.push_back({metric::kValLoss, val});
      sink.log(step, v);
    }
    sink.note("checkpoint step_7.ckpt");
  });
  INFO(out);
  for (const std::string shown : {"step 1/7 |", "step 3/7 |", "step 6/7 |", "step 7/7 |"}) {
    CHECK(out.find("[run] " + shown + " loss " + format("%.4f", loss)) != std::string::npos);
  }
  for (const std::string hidden : {"step 2/7", "step 4/7", "step 5/7"}) {
    CHECK(out.find(hidden) == std::string::npos);
  }
  CHECK(out.find("[run] step 6/7 | val loss " + format("%.4f", val) + "\n[run] step 6/7 | loss") !=
        std::string::npos);
  CHECK(out.find("MFU " + format("%.1f", 100 * mfu) + "%") != std::string::npos);
  CHECK(out.find("MFU", out.find("step 6/7 | loss")) == std::string::npos);  // not logged there
  CHECK(out.find("[run] checkpoint step_7.ckpt\n") != std::string::npos);
}

TEST_CASE("ConsoleSink refuses a progress step without its metrics", "[train][sinks]") {
  ConsoleSink sink("", 3, 1);
  CHECK_THROWS_AS(sink.log(0, {{metric::kTrainLoss, 1.0}}), std::logic_error);
}
