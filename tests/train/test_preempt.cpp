// Preemption: SIGTERM finishes the current step, checkpoints, records the run `preempted`
// and exits with code 3; running the same command again resumes and ends identically.
#include <catch2/catch.hpp>
#include <signal.h>

#include <random>

#include "train_fixture.h"

using namespace attnlab::test;

TEST_CASE("SIGTERM preempts with exit code 3 and a checkpoint to resume from", "[train][preempt]") {
  const auto& ref = reference("dense");
  TrainSetup setup;
  setup.dir = fresh_dir("preempt");
  setup.overrides = {"train.checkpoint_every=0"};  // the preemption writes the only checkpoint
  const auto seed = std::random_device{}();
  const int target = 2 + static_cast<int>(seed % (kSteps - 4));  // 2 .. kSteps-3
  INFO("SIGTERM after step " << target);

  CliRun run;
  run.when = [&](const std::string& line) { return progress_step(line) == target; };
  run.signal = SIGTERM;
  const auto preempted = run_training(setup, run);
  INFO(transcript(preempted));
  REQUIRE(preempted.signal_sent);
  CHECK(preempted.exit_code == 3);
  CHECK(preempted.out.find("stopping on request after step") != std::string::npos);
  const auto rec = read_store(setup.db());
  CHECK(rec.run.status == "preempted");
  const auto files = setup.checkpoints();
  REQUIRE(files.size() == 1);
  const int stopped_at = std::stoi(files.front().filename().string().substr(5, 10));
  CHECK(stopped_at >= target);
  CHECK(stopped_at < kSteps);
  CHECK(has_every_step_once(rec.metrics.at("train/loss"), stopped_at));

  const auto resumed = run_training(setup);
  INFO(transcript(resumed));
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.out.find("resumed from the checkpoint at step " + std::to_string(stopped_at) + "\n") !=
        std::string::npos);
  CHECK(checkpoint_differences(ref.final_checkpoint, read_checkpoint(setup.final_checkpoint())) == "");
  const auto after = read_store(setup.db());
  CHECK(after.run.status == "finished");
  CHECK(recording_differences(ref.recordings, after) == "");
}
