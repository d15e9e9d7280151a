// The common training run of the checkpoint tests, its files, its store rows and its reference.
#include "train_fixture.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include <fstream>
#include <set>

#include "attnlab/train/metric_names.h"

#include <catch2/catch.hpp>

#include <cstdio>

namespace attnlab::test {

std::vector<std::string> TrainSetup::args() const {
  std::vector<std::string> a = {"train",
                                experiment.string(),
                                "attention=" + variant,
                                "train.steps=" + std::to_string(kSteps),
                                "train.seq_len=64",
                                "train.batch_size=2",
                                "train.eval_every=4",
                                "train.log_every=1",
                                "train.checkpoint_every=1",
                                "train.threads=1",
                                "train.peak_flops=1e11",  // declared: no probe per test
                                "data.val_tokens=512",
                                "model.d_model=32",
                                "model.head_dim=8",
                                "model.ffn_hidden=64",
                                "model.n_layer=2"};
  a = with_overrides(std::move(a), overrides);
  a.push_back("--db");
  a.push_back(db().string());
  a.insert(a.end(), flags.begin(), flags.end());
  return a;
}

fs::path TrainSetup::checkpoint_dir() const {
  const fs::path experiment_dir = dir / "runs" / "x" / "smoke";  // holds the one run's folder
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(experiment_dir, ec)) return e.path() / "checkpoints";
  return experiment_dir / "no-run-yet" / "checkpoints";
}

std::vector<fs::path> TrainSetup::checkpoints() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoint_dir(), ec)) {
    if (e.path().extension() == ".ckpt") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path TrainSetup::final_checkpoint() const {
  char name[64];
  std::snprintf(name, sizeof(name), "step_%010d.ckpt", kSteps);
  return checkpoint_dir() / name;
}

bool is_checkpoint_line(const std::string& line, int step) {
  char name[64];
  std::snprintf(name, sizeof(name), "checkpoint step_%010d.ckpt", step);
  return line.find(name) != std::string::npos;
}

fs::path write_smoke_with_lr(const fs::path& dir, const std::string& lr) {
  const auto file = dir / "smoke.yaml";
  std::ofstream(file) << "defaults:\n  - model: tiny\n  - data: fineweb_sample\n  - train: smoke\n"
                         "  - attention: dense\n  - _self_\nseed: 0\ntrain:\n  lr: " << lr << "\n";
  return file;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(ATTNLAB_BINARY_DIR) / "test_train_work" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

CliOutcome run_training(const TrainSetup& setup, CliRun run) {
  run.args = setup.args();
  return run_cli(run);
}

CliOutcome run_training_ok(const TrainSetup& setup) {
  auto outcome = run_training(setup);
  INFO(transcript(outcome));
  REQUIRE(outcome.exit_code == 0);
  return outcome;
}

RunRecordings read_store(const fs::path& db) {
  store::Store s(db.string());
  const auto runs = s.runs("smoke");
  if (runs.size() != 1) throw std::runtime_error(db.string() + ": expected exactly one run");
  RunRecordings r;
  r.run = runs.front();
  for (const auto& name : s.metric_names(r.run.id)) {
    r.metrics[name] = s.metric(r.run.id, name);
    if (name.rfind("attn/", 0) == 0) r.evals[name] = s.evals(r.run.id, name);  // per layer
  }
  r.evals["gate_mean"] = s.evals(r.run.id, "gate_mean");
  for (const auto& [key, value] : s.run_info(r.run.id)) r.info[key] = value;
  return r;
}

std::string recording_differences(const RunRecordings& a, const RunRecordings& b) {
  std::string diff;
  std::set<std::string> names;  // every metric either run recorded
  for (const auto* run : {&a, &b}) {
    for (const auto& [name, points] : run->metrics) names.insert(name);
  }
  for (const auto& name : names) {
    if (metric::is_timing_derived(name)) continue;
    const auto ia = a.metrics.find(name), ib = b.metrics.find(name);
    if (ia == a.metrics.end() || ib == b.metrics.end()) {
      diff += name + ": recorded by only one run\n";
      continue;
    }
    if (ia->second.size() != ib->second.size()) {
      diff += name + ": " + std::to_string(ia->second.size()) + " vs " +
              std::to_string(ib->second.size()) + " points\n";
      continue;
    }
    for (size_t i = 0; i < ia->second.size(); ++i) {
      const auto& pa = ia->second[i];
      const auto& pb = ib->second[i];
      if (pa.step != pb.step || pa.value != pb.value) {
        char line[200];
        std::snprintf(line, sizeof(line), "%s: step %lld = %.17g vs step %lld = %.17g\n",
                      name.c_str(), static_cast<long long>(pa.step), pa.value,
                      static_cast<long long>(pb.step), pb.value);
        diff += line;
      }
    }
  }
  for (const auto& [name, ea] : a.evals) {
    const auto& eb = b.evals.at(name);
    if (ea.size() != eb.size()) {
      diff += "eval " + name + ": different counts\n";
      continue;
    }
    for (size_t i = 0; i < ea.size(); ++i) {
      if (ea[i].step != eb[i].step || ea[i].value_json != eb[i].value_json) {
        diff += "eval " + name + " at step " + std::to_string(ea[i].step) + " differs\n";
      }
    }
  }
  return diff;
}

bool has_every_step_once(const std::vector<store::Store::MetricPoint>& points, int n) {
  if (static_cast<int>(points.size()) != n) return false;
  for (int i = 0; i < n; ++i) {
    if (points[i].step != i) return false;
  }
  return true;
}

const Reference& reference(const std::string& variant) {
  static std::map<std::string, Reference> cache;
  if (auto it = cache.find(variant); it != cache.end()) return it->second;
  TrainSetup setup;
  setup.dir = fresh_dir("reference_" + variant);
  setup.variant = variant;
  const auto outcome = run_training(setup);
  INFO(transcript(outcome));
  REQUIRE(outcome.exit_code == 0);
  Reference ref;
  ref.final_checkpoint = read_checkpoint(setup.final_checkpoint());
  ref.recordings = read_store(setup.db());
  REQUIRE(ref.recordings.run.status == "finished");
  REQUIRE(has_every_step_once(ref.recordings.metrics.at("train/loss"), kSteps));
  return cache.emplace(variant, std::move(ref)).first->second;
}

RunRecordings train_with(const std::string& name, const std::string& variant,
                         std::vector<std::string> overrides) {
  TrainSetup setup;
  setup.dir = fresh_dir(name);
  setup.variant = variant;
  setup.overrides = std::move(overrides);
  run_training_ok(setup);
  return read_store(setup.db());
}

double max_relative_gap(const RunRecordings& a, const RunRecordings& b, const std::string& metric) {
  INFO(metric);
  const auto& points_a = a.metrics.at(metric);
  const auto& points_b = b.metrics.at(metric);
  REQUIRE(points_a.size() == points_b.size());
  double gap = 0.0;
  for (size_t i = 0; i < points_a.size(); ++i) {
    REQUIRE(points_a[i].step == points_b[i].step);
    REQUIRE(std::isfinite(points_b[i].value));
    gap = std::max(gap, std::abs(points_b[i].value - points_a[i].value) / std::abs(points_a[i].value));
  }
  return gap;
}

std::string transcript(const CliOutcome& o) {
  return "exit code " + std::to_string(o.exit_code) + ", signal " + std::to_string(o.term_signal) +
         "\n--- stdout\n" + o.out + "--- stderr\n" + o.err;
}

}  // namespace attnlab::test
