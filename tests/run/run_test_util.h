// Small runs of the CLI for the run-driver tests: the smoke experiment shrunk to a few steps
// of a narrow model on one thread, a fresh folder per test, and reading the store back.
#pragma once
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "attnlab/store/store.h"
#include "cli_process.h"

namespace attnlab::test {

namespace fs = std::filesystem;

// An empty directory for one test under the build tree.
inline fs::path fresh_run_dir(const std::string& name) {
  const fs::path dir = fs::path(ATTNLAB_BINARY_DIR) / "test_run_work" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// `attnlab <command> experiments/smoke.yaml <tiny, fast overrides> <extra> --db <db>`.
inline std::vector<std::string> small_run_args(const std::string& command, const fs::path& db,
                                               const std::vector<std::string>& extra,
                                               int steps = 2) {
  std::vector<std::string> a = {command, "experiments/smoke.yaml",
                                "train.steps=" + std::to_string(steps), "train.seq_len=32",
                                "train.batch_size=2", "train.eval_every=0", "train.threads=1",
                                "train.peak_flops=1e11", "data.val_tokens=256",
                                "model.d_model=32", "model.head_dim=8", "model.ffn_hidden=64",
                                "model.n_layer=1"};
  a = with_overrides(std::move(a), extra);
  a.push_back("--db");
  a.push_back(db.string());
  return a;
}

inline CliRun cli(std::vector<std::string> args) {
  CliRun run;
  run.args = std::move(args);
  return run;
}

inline std::string transcript_of(const CliOutcome& o) {
  return "exit " + std::to_string(o.exit_code) + "\n--- stdout\n" + o.out + "\n--- stderr\n" + o.err;
}

// run_cli that must succeed: fails the test with the transcript otherwise.
inline CliOutcome run_cli_ok(std::vector<std::string> args) {
  auto outcome = run_cli(cli(std::move(args)));
  INFO(transcript_of(outcome));
  REQUIRE(outcome.exit_code == 0);
  return outcome;
}

// Every run of `experiment` in the store at `db`, by name.
inline std::vector<store::RunRecord> stored_runs(const fs::path& db, const std::string& experiment) {
  return store::Store(db.string()).runs(experiment);
}

// Sets a run's status, owner and heartbeat directly, as another process (on this machine or
// another) would have; heartbeat_modifier is SQLite's, e.g. "-5 seconds".
inline void set_run_owner(const fs::path& db, int64_t run_id, const std::string& status,
                          const std::string& owner, const std::string& heartbeat_modifier) {
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open(db.string().c_str(), &handle) == SQLITE_OK);
  const std::string sql = "UPDATE runs SET status = '" + status + "', owner = '" + owner +
                          "', heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '" +
                          heartbeat_modifier + "') WHERE id = " + std::to_string(run_id);
  CHECK(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(handle);
}

}  // namespace attnlab::test
