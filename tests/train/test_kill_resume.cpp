// A run killed with SIGKILL at random moments and resumed by re-running the same command
// ends bit-identical to an uninterrupted run: weights, optimizer state, RNG, data position,
// and every per-step metric in the store, each step recorded exactly once.
#include <catch2/catch.hpp>
#include <signal.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "train_fixture.h"

using namespace attnlab::test;

namespace {

// A line that marks step `target` done: its progress line or its checkpoint line.
bool marks_step(const std::string& line, int target, bool on_checkpoint_line) {
  return on_checkpoint_line ? is_checkpoint_line(line, target) : progress_step(line) == target;
}

}  // namespace

TEST_CASE("SIGKILL at five random steps, then resume: identical to an uninterrupted run",
          "[train][resume]") {
  const auto& ref = reference("gated_window");
  TrainSetup setup;
  setup.dir = fresh_dir("kill_resume");
  setup.variant = "gated_window";

  const auto seed = std::random_device{}();
  INFO("random seed " << seed);
  std::mt19937 rng(seed);
  std::vector<int> candidates(kSteps - 1);
  std::iota(candidates.begin(), candidates.end(), 1);  // steps 1 .. kSteps-1
  std::shuffle(candidates.begin(), candidates.end(), rng);
  std::vector<int> kill_steps(candidates.begin(), candidates.begin() + 5);
  std::sort(kill_steps.begin(), kill_steps.end());

  for (size_t i = 0; i < kill_steps.size(); ++i) {
    const int target = kill_steps[i];
    const bool on_checkpoint_line = rng() % 2;
    INFO("kill " << i << " after step " << target << (on_checkpoint_line ? " (checkpoint line)" : ""));
    CliRun run;
    run.when = [&](const std::string& line) { return marks_step(line, target, on_checkpoint_line); };
    run.signal = SIGKILL;
    const bool has_checkpoint = !setup.checkpoints().empty();
    const auto outcome = run_training(setup, run);
    INFO(transcript(outcome));
    REQUIRE(outcome.signal_sent);
    REQUIRE(outcome.term_signal == SIGKILL);
    CHECK((outcome.out.find("resumed from the checkpoint at step") != std::string::npos) ==
          has_checkpoint);
    CHECK(read_store(setup.db()).run.status == "running");  // as a killed process leaves it
  }

  const auto last = run_training(setup);
  INFO(transcript(last));
  REQUIRE(last.exit_code == 0);
  CHECK(last.out.find("resumed from the checkpoint at step") != std::string::npos);

  const auto resumed = read_checkpoint(setup.final_checkpoint());
  CHECK(checkpoint_differences(ref.final_checkpoint, resumed) == "");
  CHECK(count_with_prefix(resumed, "optimizer/") > 0);  // the comparison covers AdamW's state
  CHECK(count_with_prefix(resumed, "model.") > 0);

  const auto rec = read_store(setup.db());
  CHECK(rec.run.status == "finished");
  CHECK(has_every_step_once(rec.metrics.at("train/loss"), kSteps));
  CHECK(has_every_step_once(rec.metrics.at("train/tokens_per_s"), kSteps));
  CHECK(recording_differences(ref.recordings, rec) == "");
  CHECK(rec.evals.at("gate_mean").size() == ref.recordings.evals.at("gate_mean").size());
  CHECK(!rec.evals.at("gate_mean").empty());
}
