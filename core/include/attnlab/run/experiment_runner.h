// Runs an experiment's matrix: builds and checks the RunSpec of every cell before anything is
// written or trained, records the experiment and its runs in the store, skips finished runs,
// claims the others atomically (reclaiming runs whose owner is gone), trains them one after
// another with a heartbeat, and records each outcome.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "attnlab/dist/env.h"

namespace attnlab::run {

struct ExperimentRequest {
  std::string experiment;                   // a path to a YAML file, or a name in the search path
  std::vector<std::string> overrides;       // command-line overrides and sweeps
  std::vector<std::filesystem::path> config_dirs;
  std::filesystem::path plugin_dir;
  std::string db_path;
  bool single_run = false;                  // `attnlab train`: exactly one cell allowed
  bool dry_run = false;                     // print the plan and run every check; write nothing
  int plan_world_size = 1;                  // ranks per run the dry run's plan counts tokens for
  bool restart = false;                     // start unfinished runs over instead of resuming
  // Set in a worker started by a launcher (attnlab --nproc-per-node, torchrun, srun). With
  // world_size > 1 the ranks form one process group: rank 0 alone uses the store, claims each
  // cell and broadcasts its index; all ranks train it together; the other ranks are quiet on
  // stdout. A failed cell ends the group (its process group may be broken).
  std::optional<dist::DistEnv> dist;
};

// Exit code of a run stopped by SIGTERM/SIGINT after checkpointing (resumable).
inline constexpr int kExitPreempted = 3;

// Returns the process exit code: 0 when every cell is finished, 1 when any failed,
// kExitPreempted when a signal stopped it (the current run is checkpointed and `preempted`).
int run_experiment(const ExperimentRequest& request);

// The launcher's bookkeeping after a worker group failed: every run in the store at `db_path`
// still `running` under one of `pids` on this host is marked failed with `message` (a re-run
// resumes it from its last checkpoint).
void mark_runs_of_dead_workers(const std::string& db_path, const std::vector<pid_t>& pids,
                               const std::string& message);

}  // namespace attnlab::run
