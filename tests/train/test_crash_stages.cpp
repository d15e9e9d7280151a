// A crash injected at each stage of writing a checkpoint (ATTNLAB_CHECKPOINT_CRASH_AT=1..4)
// never leaves a file that loads but is incomplete: every *.ckpt present verifies, each re-run
// resumes from the newest complete checkpoint, and the run ends identical to an uninterrupted one.
// One run directory goes through all four crashes in turn.
#include <catch2/catch.hpp>
#include <signal.h>

#include <fstream>

#include "train_fixture.h"

using namespace attnlab::test;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string step_name(int step) {
  char name[64];
  std::snprintf(name, sizeof(name), "step_%010d.ckpt", step);
  return name;
}

// The step a "resumed from the checkpoint at step N" line names, -1 without one.
int resumed_step(const std::string& out) {
  const std::string key = "resumed from the checkpoint at step ";
  const auto at = out.find(key);
  return at == std::string::npos ? -1 : std::stoi(out.substr(at + key.size()));
}

}  // namespace

TEST_CASE("a crash at any checkpoint-writing stage is survived", "[train][checkpoint]") {
  const auto& ref = reference("dense");
  TrainSetup setup;
  setup.dir = fresh_dir("crash_stages");

  // A first process checkpoints a step or two and is killed.
  CliRun first;
  first.when = [](const std::string& line) { return is_checkpoint_line(line, 2); };
  first.signal = SIGKILL;
  const auto killed = run_training(setup, first);
  INFO(transcript(killed));
  REQUIRE(killed.term_signal == SIGKILL);
  REQUIRE(!setup.checkpoints().empty());

  for (int stage = 1; stage <= 4; ++stage) {
    INFO("crash at stage " << stage);
    const auto files = setup.checkpoints();
    REQUIRE(!files.empty());
    const int good = std::stoi(files.back().filename().string().substr(5, 10));
    REQUIRE(good < kSteps);

    // This process resumes, trains one step and dies while writing its checkpoint.
    CliRun crashing;
    crashing.env["ATTNLAB_CHECKPOINT_CRASH_AT"] = std::to_string(stage);
    const auto crashed = run_training(setup, crashing);
    INFO(transcript(crashed));
    REQUIRE(crashed.term_signal == SIGABRT);
    REQUIRE(crashed.err.find("injected crash at checkpoint stage " + std::to_string(stage)) !=
            std::string::npos);
    CHECK(resumed_step(crashed.out) == good);

    const auto dir = setup.checkpoint_dir();
    const auto partial = dir / (step_name(good + 1) + ".tmp");
    const bool renamed = stage >= 3;
    CHECK(fs::exists(partial) == !renamed);
    CHECK(fs::exists(dir / step_name(good + 1)) == renamed);
    CHECK(read_text(dir / "latest") == (stage == 4 ? step_name(good + 1) : step_name(good)) + "\n");
    if (stage == 1) CHECK_THROWS(read_checkpoint(partial));  // half written
    for (const auto& file : setup.checkpoints()) {
      INFO(file);
      CHECK_NOTHROW(read_checkpoint(file));  // every *.ckpt is complete and verifies
    }
  }

  // The last process resumes from the newest complete checkpoint and finishes.
  const auto last = run_training(setup);
  INFO(transcript(last));
  REQUIRE(last.exit_code == 0);
  CHECK(resumed_step(last.out) > 0);
  CHECK(checkpoint_differences(ref.final_checkpoint, read_checkpoint(setup.final_checkpoint())) == "");
  const auto rec = read_store(setup.db());
  CHECK(rec.run.status == "finished");
  CHECK(has_every_step_once(rec.metrics.at("train/loss"), kSteps));
  CHECK(recording_differences(ref.recordings, rec) == "");
  for (const auto& e : fs::directory_iterator(setup.checkpoint_dir())) {
    CHECK(e.path().extension() != ".tmp");  // a later save removes what the crashes left
  }
}
