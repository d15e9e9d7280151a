// Helpers of the end-to-end data-parallel tests (test_dist_train.cpp, test_torchrun.cpp): a
// scratch folder, the tiny experiment, running the real binary (directly or under a launcher
// such as torchrun) and reading the run back from its store.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "attnlab/store/store.h"

namespace attnlab::test {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  double wall_s = 0;
};

// An empty folder named `name` under this test process's temporary folder.
std::filesystem::path fresh_dir(const std::string& name);

// The tiny model (2 layers) on the FineWeb sample, seed 3, as experiment "dist_tiny" in `dir`:
// ~0.2 s per step on one core, dominated by the 50k-token vocabulary.
std::filesystem::path write_experiment(const std::filesystem::path& dir);

// Overrides of the tiny experiment for a short CPU run, without train.steps.
extern const char* const kTinyOverrides;

// Runs a shell command in the source folder with ATTNLAB_SHARED exported; stdout and stderr.
Result run_shell(const std::string& command);
// Runs `attnlab ARGS` (under `timeout 120`), after the environment assignments `env`.
Result run_attnlab(const std::string& args, const std::string& env = "");

// Returns when `tool` is on PATH; otherwise fails under CI (CI non-empty) and exits 77 (the
// CTest SKIP_RETURN_CODE of the launcher tests) elsewhere, naming the Debian `package`.
void require_tool(const std::string& tool, const std::string& package);

// The per-step train/loss of `attnlab TRAIN_ARGS --nproc-per-node 2` (our launcher), after the
// environment assignments `env`; TRAIN_ARGS ends with `--db PATH`.
std::vector<double> our_launcher_losses(const std::string& train_args, const std::string& env = "");

// The run in `db` finished, is the only run folder beside `db` and has a checkpoint (so only
// rank 0 wrote), and its per-step train/loss equals `reference` within 1e-5.
void check_like_reference(const std::filesystem::path& db, const std::vector<double>& reference);

// The only run of experiment dist_tiny in the store `db`, and one metric of it per step.
store::RunRecord the_run(const std::filesystem::path& db);
std::vector<double> metric(const std::filesystem::path& db, const std::string& name);

}  // namespace attnlab::test
