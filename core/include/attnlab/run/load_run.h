// A trained run brought back from the results store: find it by the word a user typed
// (EXPERIMENT/RUN, RUN, a run id, or a run folder / checkpoints folder / step_*.ckpt path),
// rebuild its model from the config the store recorded and load its newest verified
// checkpoint. Used by `attnlab generate` and `attnlab eval`.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "attnlab/model/decoder.h"
#include "attnlab/store/store.h"

namespace attnlab::plugin {
class PluginRegistry;
}

namespace attnlab::run {

// The word given names no run: no such path or run name, a name in several experiments, a
// file that is not a checkpoint, a path whose store cannot be told. A command-line tool
// reports it as a usage error (attnlab exits 2).
class TargetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunTarget {
  store::RunRecord run;              // as stored: its config_json is the run's resolved config
  std::string db;                    // the store it was found in
  std::filesystem::path checkpoint;  // a checkpoints/ folder (its newest loads) or one .ckpt
};

// Resolves `word`: an existing path is a run folder, its checkpoints/ folder or one
// step_*.ckpt in it, whose store is `db` or else the <db>.db beside the runs/ folder
// (<dir>/runs/<db>/<experiment>/<run>); otherwise a run id, EXPERIMENT/RUN or RUN (when one
// experiment has it) in the store `db`, or `default_db` without it. Throws TargetError.
RunTarget resolve_target(const std::string& word, const std::optional<std::string>& db,
                         const std::string& default_db);

// The forms resolve_target accepts, as `--help` of a command taking RUN|CHECKPOINT says them.
inline constexpr const char* kTargetHelp =
    "RUN|CHECKPOINT is one of\n"
    "  EXPERIMENT/RUN or RUN   a run in the store (RUN alone when one experiment has it), e.g.\n"
    "                          'smoke/attention=dense,seed=0'; its newest checkpoint is used\n"
    "  ID                      a run id, as `attnlab report --run ID --config` shows\n"
    "  PATH                    a run folder, its checkpoints/ folder or one step_*.ckpt in it\n"
    "                          (results/runs/<db>/<experiment>/<run>/...); without --db the\n"
    "                          store is the <db>.db beside that runs/ folder\n";

struct LoadedRun {
  model::Decoder model{nullptr};  // on the CPU, in eval mode
  std::string plugin;             // attention.variant
  int64_t trained_steps = 0;      // the loaded checkpoint's: the steps it has trained
};

// Rebuilds the model of `tree` (the run's stored config) and loads the newest checkpoint of
// target.checkpoint that verifies (or the one file named). Throws std::runtime_error when the
// run has no checkpoint folder or none loads (train it first: attnlab run).
LoadedRun load_run(const RunTarget& target, const nlohmann::json& tree,
                   plugin::PluginRegistry& plugins);

}  // namespace attnlab::run
