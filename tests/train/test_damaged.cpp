// Checkpoints that must not be resumed from: a damaged newest file (flipped byte, truncation,
// or a valid header and checksum over a payload LibTorch cannot read or that lacks entries)
// is skipped with a warning naming it (the previous one is used); a checkpoint of another
// config or format version is refused with a message that names --restart, and --restart
// starts the run over.
#include <catch2/catch.hpp>
#include <signal.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "attnlab/train/checkpoint.h"
#include "attnlab/util/sha256.h"
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

// Replaces a checkpoint's payload, writing a header (magic, format, length, SHA-256) that
// verifies: only reading the payload can tell that it is damaged.
void rewrite_with_valid_header(const fs::path& file, const std::string& payload) {
  std::string bytes = "ATTNCKPT";
  const uint32_t version = attnlab::train::kCheckpointFormatVersion;
  const uint64_t size = payload.size();
  bytes.append(reinterpret_cast<const char*>(&version), sizeof(version));
  bytes.append(reinterpret_cast<const char*>(&size), sizeof(size));
  const auto digest = attnlab::util::sha256_hex(payload.data(), payload.size());
  for (size_t i = 0; i < digest.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(digest.substr(i, 2), nullptr, 16)));
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes << payload;
}

std::string random_bytes(std::mt19937& rng, size_t size) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(byte(rng));
  return out;
}

// A LibTorch archive holding only the meta.json of `file` (its config fingerprint matches, so
// only the missing model, optimizer and RNG entries can tell that it is damaged).
std::string archive_with_only_meta(const fs::path& file) {
  const std::string meta = checkpoint_meta_json(read_checkpoint(file));
  auto bytes = torch::empty({static_cast<int64_t>(meta.size())}, torch::kUInt8);
  std::memcpy(bytes.data_ptr(), meta.data(), meta.size());
  torch::serialize::OutputArchive archive;
  archive.write("meta.json", bytes, /*is_buffer=*/true);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

// The run resumed from `used` and then ended exactly like the uninterrupted reference run.
void check_resumed_like_reference(const CliOutcome& outcome, const TrainSetup& setup,
                                  const fs::path& used) {
  const auto& ref = reference("dense");
  const int step = std::stoi(used.filename().string().substr(5, 10));
  CHECK(outcome.out.find("resumed from the checkpoint at step " + std::to_string(step) + "\n") !=
        std::string::npos);
  CHECK(checkpoint_differences(ref.final_checkpoint, read_checkpoint(setup.final_checkpoint())) ==
        "");
  CHECK(recording_differences(ref.recordings, read_store(setup.db())) == "");
}

}  // namespace

TEST_CASE("a flipped byte or a truncation in the newest checkpoints falls back to an older one",
          "[train][checkpoint]") {
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
  check_resumed_like_reference(outcome, setup, files[0]);
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

TEST_CASE("a checkpoint whose checksum holds but whose payload LibTorch cannot read is skipped",
          "[train][checkpoint]") {
  TrainSetup setup;
  setup.dir = fresh_dir("unreadable_payload");
  setup.overrides = {"train.keep_checkpoints=3"};
  const auto files = interrupted_run(setup);
  REQUIRE(files.size() == 3);
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  const auto garbage = files[2];
  rewrite_with_valid_header(garbage, random_bytes(rng, 1000 + rng() % 4000));
  const auto incomplete = files[1];
  rewrite_with_valid_header(incomplete, archive_with_only_meta(incomplete));

  const auto outcome = run_training(setup);
  INFO(transcript(outcome));
  REQUIRE(outcome.exit_code == 0);
  CHECK(outcome.err.find("warning: skipping checkpoint: " + garbage.string() +
                         " is damaged: LibTorch cannot read its payload") != std::string::npos);
  CHECK(outcome.err.find("warning: skipping checkpoint: " + incomplete.string() +
                         " is damaged: LibTorch cannot read its payload") != std::string::npos);
  check_resumed_like_reference(outcome, setup, files[0]);
}
