// Checkpoints: everything a resumed run needs to continue bit-identically (model, optimizer,
// RNG, data position, step, tokens, config, code version), written so that a crash at any
// moment never leaves a file that loads but is incomplete.
//
// File layout: "ATTNCKPT" | u32 format version | u64 payload bytes | 32-byte SHA-256 of the
// payload | payload (a LibTorch archive). Written to `<name>.tmp`, flushed and fsync'ed,
// renamed into place; then the `latest` pointer file is replaced the same way; then all but
// the newest `keep` checkpoints and any `.tmp` left by an earlier crash are removed.
#pragma once
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "attnlab/data/loader.h"

namespace attnlab::train {

inline constexpr uint32_t kCheckpointFormatVersion = 1;

// The scalar state of a run between two steps.
struct TrainProgress {
  int64_t next_step = 0;           // the first step the resumed run executes
  uint64_t tokens_seen = 0;
  data::LoaderPosition loader;
  int64_t consecutive_skips = 0;   // non-finite steps skipped in a row (policy `skip`)
};

struct CheckpointMeta {
  TrainProgress progress;
  std::string config_fingerprint;  // SHA-256 of the parts of the config that must not change
  std::string code_version;
};

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CheckpointManager {
 public:
  CheckpointManager(std::filesystem::path dir, int keep);
  const std::filesystem::path& dir() const { return dir_; }

  // Writes step_<next_step>.ckpt atomically and points `latest` at it. Returns its path.
  std::filesystem::path save(const torch::nn::Module& model, const torch::optim::Optimizer& optimizer,
                             const CheckpointMeta& meta);

  // Loads the newest checkpoint that verifies and reads (a damaged one: truncated, failing its
  // SHA-256, or a payload LibTorch cannot read or that lacks an entry, is skipped with a
  // warning on stderr naming it) into model/optimizer and restores the RNG. Returns nullopt when there
  // is none. A checkpoint of another format version or config fingerprint is an error that
  // says how to start over (--restart).
  std::optional<CheckpointMeta> load_latest(torch::nn::Module& model,
                                            torch::optim::Optimizer& optimizer,
                                            const std::string& expected_fingerprint);

  // Every checkpoint file in the directory, oldest first.
  std::vector<std::filesystem::path> list() const;
  // Removes every checkpoint and the pointer (for --restart).
  void clear();

 private:
  // Removes `*.tmp` files a crash during save() left behind (one writer per directory).
  void remove_temp_files() const;

  std::filesystem::path dir_;
  int keep_;
};

// Loads exactly the checkpoint file `path` into model/optimizer (as load_latest loads one, RNG
// included), e.g. an older one picked by hand; a damaged file, or one of another format or
// config fingerprint, is a CheckpointError naming it.
CheckpointMeta load_checkpoint_file(const std::filesystem::path& path, torch::nn::Module& model,
                                    torch::optim::Optimizer& optimizer,
                                    const std::string& expected_fingerprint);

// Where the weights of a run started from (train.init_from).
struct InitialWeights {
  std::filesystem::path file;  // the checkpoint read
  int64_t step = 0;            // the step the run that wrote it had reached (its next_step)
};

// train.init_from: only the model's tensors of the checkpoint `from` names, by name, into
// `model`: no optimizer state, RNG, data position or config fingerprint (it is another run).
// `from` is a step_*.ckpt file, or a folder of them (checkpoints/), or a run folder holding
// checkpoints/, whose newest checkpoint that verifies is used (damaged ones are skipped with a
// warning). Every model.* tensor of the checkpoint must be a parameter or buffer of the model
// of the same shape, and every parameter of the model must be in the checkpoint except those
// named in `keep_own` (they keep their initialisation); buffers it lacks keep theirs. Anything
// else is a CheckpointError naming the file and the tensor (with both shapes), and leaves the
// model as it was.
InitialWeights load_model_weights(const std::filesystem::path& from, torch::nn::Module& model,
                                  const std::set<std::string>& keep_own = {});

// Fault injection for tests: when ATTNLAB_CHECKPOINT_CRASH_AT=<stage> is set, the process
// aborts at that stage of save() (1: temp file half written, 2: temp file written, not
// renamed, 3: renamed, pointer not updated, 4: pointer updated, old ones not pruned).
void checkpoint_crash_point(int stage);

}  // namespace attnlab::train
