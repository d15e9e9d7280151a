// The non-finite policy, with a NaN loss injected at a chosen step (train.inject_nonfinite_step):
// `halt` fails the run naming the step and reason and checkpoints nothing after the last good
// step; `skip` leaves weights and optimizer state untouched by that step, records
// train/nonfinite, and fails once train.max_skips steps in a row were skipped.
#include <catch2/catch.hpp>

#include "train_fixture.h"

using namespace attnlab::test;

namespace {

constexpr int kNanStep = 5;

TrainSetup nan_setup(const std::string& name, const std::string& policy, int max_skips) {
  TrainSetup setup;
  setup.dir = fresh_dir(name);
  setup.overrides = {"train.inject_nonfinite_step=" + std::to_string(kNanStep),
                     "train.nonfinite=" + policy, "train.max_skips=" + std::to_string(max_skips),
                     "train.keep_checkpoints=100"};
  return setup;
}

fs::path checkpoint_at(const TrainSetup& setup, int next_step) {
  char name[64];
  std::snprintf(name, sizeof(name), "step_%010d.ckpt", next_step);
  return setup.checkpoint_dir() / name;
}

}  // namespace

TEST_CASE("nonfinite=halt fails the run at the NaN step and checkpoints nothing after it",
          "[train][nonfinite]") {
  const auto setup = nan_setup("nan_halt", "halt", 5);
  const auto outcome = run_training(setup);
  INFO(transcript(outcome));
  CHECK(outcome.exit_code == 1);
  const auto rec = read_store(setup.db());
  CHECK(rec.run.status == "failed");
  CHECK(rec.run.message.find("loss is nan at step " + std::to_string(kNanStep)) != std::string::npos);
  CHECK(rec.run.message.find("nonfinite=halt") != std::string::npos);
  // The last checkpoint is the one after the last good step (its next step is the NaN step).
  const auto files = setup.checkpoints();
  REQUIRE(!files.empty());
  CHECK(files.back() == checkpoint_at(setup, kNanStep));
  CHECK(has_every_step_once(rec.metrics.at("train/loss"), kNanStep));
  REQUIRE(rec.metrics.count("train/nonfinite"));
  CHECK(rec.metrics.at("train/nonfinite").front().step == kNanStep);
}

TEST_CASE("nonfinite=skip leaves the weights and optimizer state untouched by the NaN step",
          "[train][nonfinite]") {
  const auto setup = nan_setup("nan_skip", "skip", 2);
  const auto outcome = run_training(setup);
  INFO(transcript(outcome));
  REQUIRE(outcome.exit_code == 0);
  CHECK(outcome.out.find("step " + std::to_string(kNanStep + 1) + " skipped: loss is nan") !=
        std::string::npos);
  const auto rec = read_store(setup.db());
  CHECK(rec.run.status == "finished");
  REQUIRE(rec.metrics.count("train/nonfinite"));
  CHECK(rec.metrics.at("train/nonfinite").size() == 1);
  CHECK(rec.metrics.at("train/nonfinite").front().step == kNanStep);
  CHECK(rec.metrics.at("train/nonfinite").front().value == 1.0);
  const auto& loss = rec.metrics.at("train/loss");
  CHECK(loss.size() == static_cast<size_t>(kSteps - 1));
  for (const auto& p : loss) CHECK(p.step != kNanStep);

  // Before the NaN step vs after it: identical model and optimizer (no update, no AdamW step).
  const auto before = read_checkpoint(checkpoint_at(setup, kNanStep));
  const auto after = read_checkpoint(checkpoint_at(setup, kNanStep + 1));
  // (The learning rate in the optimizer's options is set from the step before each step.)
  const std::vector<std::string> not_state = {"meta.json", "optimizer/param_groups/"};
  CHECK(checkpoint_differences(before, after, not_state) == "");
  CHECK(checkpoint_meta_json(after).find("\"consecutive_skips\":1") != std::string::npos);
  // ...while an ordinary step does change them (the comparison can fail).
  const auto next = read_checkpoint(checkpoint_at(setup, kNanStep + 2));
  CHECK(checkpoint_differences(after, next, not_state) != "");
  CHECK(checkpoint_meta_json(next).find("\"consecutive_skips\":0") != std::string::npos);
}

TEST_CASE("nonfinite=skip fails after train.max_skips skipped steps in a row", "[train][nonfinite]") {
  const auto setup = nan_setup("nan_max_skips", "skip", 1);
  const auto outcome = run_training(setup);
  INFO(transcript(outcome));
  CHECK(outcome.exit_code == 1);
  const auto rec = read_store(setup.db());
  CHECK(rec.run.status == "failed");
  CHECK(rec.run.message.find("at step " + std::to_string(kNanStep)) != std::string::npos);
  CHECK(rec.run.message.find("train.max_skips") != std::string::npos);
  CHECK(setup.checkpoints().back() == checkpoint_at(setup, kNanStep));
}
