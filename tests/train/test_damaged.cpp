// Checkpoints that must not be resumed from: a damaged newest file is skipped with a warning
// naming it (the previous one is used); a checkpoint of another config or format version is
// refused with a message that names --restart, and --restart starts the run over.
#include <catch2/catch.hpp>
#include <signal.h>

#include <fstream>

#include "train_fixture.h"

using namespace attnlab::test;

namespace {

// A first process that checkpoints a few steps and is killed; returns the checkpoints it left.
std::vector<fs::path> interrupted_run(const TrainSetup& setup) {
  CliRun run;
  run.when = [](const std::string& line) { return is_checkpoint_line(line, 3); };
  run.signal = SIGKILL;
  const auto outcome = run_training(setup, run);
  INFO(transcript(outcome));
  REQUIRE(outcome.term_signal == SIGKILL);
  auto files = setup.checkpoints();
  REQUIRE(files.size() >= 2);
  return files;
}

void patch_byte(const fs::path& file, std::streamoff offset, char value) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  f.put(value);
}

char byte_at(const fs::path& file, std::streamoff offset) {
  std::ifstream f(file, std::ios::binary);
  f.seekg(offset);
  return static_cast<char>(f.get());
}

}  // namespace

TEST_CASE("a flipped byte or a truncation in the newest checkpoints falls back to an older one",
          "[train][checkpoint]") {
  const auto& ref = reference("dense");
  TrainSetup setup;
  setup.dir = fresh_dir("damaged");
  setup.overrides = {"train.keep_checkpoints=3"};
  const auto files = interrupted_run(setup);
  REQUIRE(files.size() == 3);
  const auto flipped = files[2];
  const auto offset = static_cast<std::streamoff>(fs::file_size(flipped) / 2);
  patch_byte(flipped, offset, static_cast<char>(byte_at(flipped, offset) ^ 0x01));
  CHECK_THROWS(read_checkpoint(flipped));
  const auto truncated = files[1];
  fs::resize_file(truncated, fs::file_size(truncated) - 100);

  const auto outcome = run_training(setup);
  INFO(transcript(outcome));
  REQUIRE(outcome.exit_code == 0);
  CHECK(outcome.err.find("warning: skipping checkpoint: " + flipped.string() + " is damaged") !=
        std::string::npos);
  CHECK(outcome.err.find("warning: skipping checkpoint: " + truncated.string() + " is truncated") !=
        std::string::npos);
  const int oldest_step = std::stoi(files[0].filename().string().substr(5, 10));
  CHECK(outcome.out.find("resumed from the checkpoint at step " + std::to_string(oldest_step) + "\n") !=
        std::string::npos);
  CHECK(checkpoint_differences(ref.final_checkpoint, read_checkpoint(setup.final_checkpoint())) == "");
  CHECK(recording_differences(ref.recordings, read_store(setup.db())) == "");
}

TEST_CASE("a checkpoint of another config is refused, naming --restart", "[train][checkpoint]") {
  TrainSetup setup;
  setup.dir = fresh_dir("other_config");
  setup.experiment = write_smoke_with_lr(setup.dir, "0.003");
  interrupted_run(setup);
  write_smoke_with_lr(setup.dir, "0.002");  // the same run name, another config
  setup.overrides = {"train.eval_every=3"};

  const auto refused = run_training(setup);
  INFO(transcript(refused));
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("different config") != std::string::npos);
  CHECK(refused.err.find("--restart") != std::string::npos);
  const auto rec = read_store(setup.db());
  CHECK(rec.run.status == "failed");
  CHECK(rec.run.message.find("--restart") != std::string::npos);

  setup.flags = {"--restart"};
  const auto restarted = run_training(setup);
  INFO(transcript(restarted));
  REQUIRE(restarted.exit_code == 0);
  CHECK(restarted.out.find("resumed from") == std::string::npos);
  const auto after = read_store(setup.db());
  CHECK(after.run.status == "finished");
  CHECK(has_every_step_once(after.metrics.at("train/loss"), kSteps));
  // The first attempt's rows are gone: validation only at the new eval_every's steps.
  std::vector<int64_t> val_steps;
  for (const auto& p : after.metrics.at("val/loss")) val_steps.push_back(p.step);
  CHECK(val_steps == std::vector<int64_t>{2, 5, 7});  // every 3rd step and the last
  // lr changed, so the losses after the first update differ from the original config's.
  CHECK(after.metrics.at("train/loss")[kSteps - 1].value !=
        reference("dense").recordings.metrics.at("train/loss")[kSteps - 1].value);
}

TEST_CASE("a checkpoint of another format version is refused, naming --restart",
          "[train][checkpoint]") {
  TrainSetup setup;
  setup.dir = fresh_dir("other_format");
  const auto files = interrupted_run(setup);
  patch_byte(files.back(), 8, 7);  // the u32 format version, little-endian
  const auto refused = run_training(setup);
  INFO(transcript(refused));
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find(files.back().string() + " has checkpoint format 7") != std::string::npos);
  CHECK(refused.err.find("--restart") != std::string::npos);
}
