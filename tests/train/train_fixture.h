// The small training run every checkpoint test starts from (experiments/smoke.yaml with the
// tiny model narrowed to d_model 32 so checkpoints are small, 8 steps of 2 x 64 tokens on one
// thread, a checkpoint after every step), where its files land, what the store recorded, and an uninterrupted reference run to compare against.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "attnlab/store/store.h"
#include "checkpoint_reader.h"
#include "cli_process.h"

namespace attnlab::test {

namespace fs = std::filesystem;

inline constexpr int kSteps = 8;

struct TrainSetup {
  fs::path dir;                        // holds x.db and the run directories
  fs::path experiment = "experiments/smoke.yaml";
  std::string variant = "dense";
  std::vector<std::string> overrides;  // on top of the base ones; replace those of the same key
  std::vector<std::string> flags;      // e.g. --restart

  std::vector<std::string> args() const;
  fs::path db() const { return dir / "x.db"; }
  fs::path checkpoint_dir() const;
  std::vector<fs::path> checkpoints() const;  // step_*.ckpt, oldest first
  fs::path final_checkpoint() const;          // step_<kSteps>.ckpt
};

// True for the line announcing the checkpoint whose next step is `step`.
bool is_checkpoint_line(const std::string& line, int step);

// Writes <dir>/smoke.yaml: the smoke experiment's defaults (no matrix) with train.lr = `lr`,
// so a test can change a run's config without changing its name (overrides name a run).
fs::path write_smoke_with_lr(const fs::path& dir, const std::string& lr);

// An empty directory for one test under the build tree.
fs::path fresh_dir(const std::string& name);

// Runs `setup` with `run.args` replaced by setup.args().
CliOutcome run_training(const TrainSetup& setup, CliRun run = {});

// run_training that must succeed: fails the test with the transcript otherwise.
CliOutcome run_training_ok(const TrainSetup& setup);

// Per-step metrics, evals and run_info of the experiment's only run.
struct RunRecordings {
  store::RunRecord run;
  std::map<std::string, std::vector<store::Store::MetricPoint>> metrics;  // by name
  std::map<std::string, std::vector<store::EvalRecord>> evals;
  std::map<std::string, std::string> info;  // run_info: key -> JSON text
};
RunRecordings read_store(const fs::path& db);


// Empty when every metric but the timing-derived ones (metric::is_timing_derived) and the
// evals agree exactly, step for step.
std::string recording_differences(const RunRecordings& a, const RunRecordings& b);

// The run `variant` trained with `overrides` on top of the base ones, in a fresh folder
// named `name`: its recordings.
RunRecordings train_with(const std::string& name, const std::string& variant,
                         std::vector<std::string> overrides);

// The largest |b - a| / |a| over the points of `metric`, after checking that both runs logged
// it at the same steps and that every value of `b` is finite (a test failure otherwise).
double max_relative_gap(const RunRecordings& a, const RunRecordings& b, const std::string& metric);

// Steps 0..n-1 exactly once each, in order.
bool has_every_step_once(const std::vector<store::Store::MetricPoint>& points, int n);

struct Reference {
  CheckpointContents final_checkpoint;
  RunRecordings recordings;
};
// The uninterrupted run of `variant` (computed once per process).
const Reference& reference(const std::string& variant);

// Everything a process printed, for failure messages.
std::string transcript(const CliOutcome& o);

}  // namespace attnlab::test
