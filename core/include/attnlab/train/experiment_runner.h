// Runs an experiment's matrix: composes and validates every cell before training anything,
// records the experiment and its runs in the store, skips finished runs, claims the others
// atomically, trains them one after another and records each outcome.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace attnlab::train {

struct ExperimentRequest {
  std::string experiment;                   // a path to a YAML file, or a name in the search path
  std::vector<std::string> overrides;       // command-line overrides and sweeps
  std::vector<std::filesystem::path> config_dirs;
  std::filesystem::path plugin_dir;
  std::string db_path;
  bool single_run = false;                  // `attnlab train`: exactly one cell allowed
  bool dry_run = false;                     // list the cells and their status, train nothing
  bool restart = false;                     // start unfinished runs over instead of resuming
};

// Exit code of a run stopped by SIGTERM/SIGINT after checkpointing (resumable).
inline constexpr int kExitPreempted = 3;

// Returns the process exit code: 0 when every cell is finished, 1 when any failed,
// kExitPreempted when a signal stopped it (the current run is checkpointed and `preempted`).
int run_experiment(const ExperimentRequest& request);

}  // namespace attnlab::train
