// Resume rules the kill/resume test leaves out: train.keep_checkpoints prunes to the newest
// checkpoints before and after a resume; bookkeeping keys (config/identity.cpp) may change
// across a resume; a run with its own data.order_seed resumes onto the batches of its
// uninterrupted run, and a changed order seed is refused naming --restart.
#include <catch2/catch.hpp>
#include <signal.h>

#include <fstream>
#include <random>

#include "train_fixture.h"

using namespace attnlab::test;

namespace {

// Step numbers of the checkpoints in the run's folder, oldest first.
std::vector<int> checkpoint_steps(const TrainSetup& setup) {
  std::vector<int> steps;
  for (const auto& file : setup.checkpoints()) {
    steps.push_back(std::stoi(file.filename().string().substr(5, 10)));  // step_<10 digits>
  }
  return steps;
}

// Runs `setup` and kills it with SIGKILL when it reports step `step` done.
void kill_after(const TrainSetup& setup, int step) {
  CliRun run;
  run.when = [step](const std::string& line) { return progress_step(line) == step; };
  run.signal = SIGKILL;
  const auto outcome = run_training(setup, run);
  INFO(transcript(outcome));
  REQUIRE(outcome.term_signal == SIGKILL);
}

// Runs `setup` to the end; it must resume from a checkpoint.
void resume_ok(const TrainSetup& setup) {
  const auto outcome = run_training_ok(setup);
  CHECK(outcome.out.find("resumed from the checkpoint at step") != std::string::npos);
}

// The smoke experiment (write_smoke_with_lr at its own lr) with data.order_seed `seed`.
fs::path smoke_with_order_seed(const fs::path& dir, int seed) {
  const auto file = write_smoke_with_lr(dir, "3.0e-3");
  std::ofstream(file, std::ios::app) << "data:\n  order_seed: " << seed << "\n";
  return file;
}

}  // namespace

TEST_CASE("keep_checkpoints prunes before and after a resume with changed bookkeeping keys",
          "[train][resume]") {
  const auto& ref = reference("dense");
  TrainSetup setup;
  setup.dir = fresh_dir("keep_checkpoints");
  setup.overrides = {"train.keep_checkpoints=3"};
  kill_after(setup, 5);
  const auto kept = checkpoint_steps(setup);
  REQUIRE(kept.size() == 3);
  CHECK(kept.back() - kept.front() == 2);  // the newest three

  // Bookkeeping keys are outside the config fingerprint: the run resumes.
  setup.overrides = {"train.keep_checkpoints=2", "train.eval_every=3", "train.log_every=2"};
  resume_ok(setup);
  CHECK(checkpoint_steps(setup) == std::vector<int>{kSteps - 1, kSteps});
  CHECK(checkpoint_differences(ref.final_checkpoint, read_checkpoint(setup.final_checkpoint())) == "");
  CHECK(has_every_step_once(read_store(setup.db()).metrics.at("train/loss"), kSteps));
}

TEST_CASE("a run with its own data.order_seed resumes onto its uninterrupted batches",
          "[train][resume]") {
  TrainSetup whole;
  whole.dir = fresh_dir("order_seed_whole");
  whole.experiment = smoke_with_order_seed(whole.dir, 5);
  run_training_ok(whole);
  const auto expected = read_store(whole.db());
  // Another window order than the reference's (order seed = seed = 0): other batches.
  CHECK(expected.metrics.at("train/loss")[0].value !=
        reference("dense").recordings.metrics.at("train/loss")[0].value);

  TrainSetup setup;
  setup.dir = fresh_dir("order_seed_resume");
  setup.experiment = smoke_with_order_seed(setup.dir, 5);
  std::mt19937 rng(std::random_device{}());
  const int kill_step = std::uniform_int_distribution<int>(2, kSteps - 2)(rng);
  INFO("killed after step " << kill_step);
  kill_after(setup, kill_step);

  smoke_with_order_seed(setup.dir, 6);  // the same run name, another window order
  const auto refused = run_training(setup);
  INFO(transcript(refused));
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("different config") != std::string::npos);
  CHECK(refused.err.find("--restart") != std::string::npos);

  smoke_with_order_seed(setup.dir, 5);
  resume_ok(setup);
  CHECK(recording_differences(expected, read_store(setup.db())) == "");
  CHECK(checkpoint_differences(read_checkpoint(whole.final_checkpoint()),
                               read_checkpoint(setup.final_checkpoint())) == "");
}
