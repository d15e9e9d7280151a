// The results store: one SQLite file (default results/attnlab.db) holding experiments, runs,
// their metrics, evals, artifacts and run facts, and benchmark results. The trainer writes it,
// `attnlab run` schedules from it (claim_run), `attnlab report` reads it (open_store_to_read).
// Every value is bound as a parameter; every error is a StoreError naming the database file
// and what to do.
// Tables and columns: docs/STORE.md.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace attnlab::store {

// Every store failure. what() is one line: "<db path>: <problem> (<what to do>)"; a failed
// SQLite call reads "<db path>: cannot <operation>: <sqlite message> (<what to do>) [SQL: ...]".
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The default results folder, relative to the working directory: the only directory a
// writable open creates (a --db elsewhere must name an existing directory).
inline constexpr const char* kDefaultResultsDir = "results";

// The statuses a run moves through. `attnlab run` claims pending, failed and preempted runs.
inline constexpr const char* kRunStatuses[] = {"pending", "running", "finished", "failed",
                                               "preempted"};
bool is_valid_run_status(const std::string& status);

// Timestamps are ISO-8601 UTC text ("2026-11-23T11:19:35.123Z"); empty when not set.
struct RunRecord {
  int64_t id = 0;
  std::string experiment, name, variant;
  int64_t seed = 0;
  std::string status, config_json, config_yaml, overrides_json, code_version, message, created_at,
      started_at, finished_at;
  std::string heartbeat_at, owner;  // the last heartbeat and who claimed the run
};

// One row of `attnlab bench` for a single attention op.
struct BenchAttentionRecord {
  std::string plugin;
  int64_t seq = 0, batch = 0, heads = 0, head_dim = 0;
  std::string dtype;
  double fwd_ms = 0, fwdbwd_ms = 0;
  int64_t peak_bytes = 0;
  double gflops = 0;
  std::string device, created_at;  // created_at is filled by the store
  // fwd+bwd peak resident memory above the inputs, parameters and runtime (what the op itself
  // allocates; peak_bytes is the whole process); -1: not measured (rows of schema < 3).
  int64_t extra_bytes = -1;
};

// One row of `attnlab bench` for a full training step.
struct BenchTrainRecord {
  std::string preset, variant;
  int64_t seq = 0, batch = 0;
  double tokens_per_s = 0, step_ms = 0;
  int64_t peak_bytes = 0;
  double mfu = 0;
  std::string device, created_at;  // created_at is filled by the store
};

struct ArtifactRecord {
  std::string kind, path, sha256;
};

struct EvalRecord {
  int64_t step = 0;
  std::string name, value_json;
};

// The schema's forward migrations: entry i takes PRAGMA user_version from i to i + 1.
const std::vector<std::string>& schema_migrations();
// The version this code writes (schema_migrations().size()).
int schema_version();

namespace detail {
class Connection;
}

// One connection to the store. Safe to use from one thread at a time; open one Store per
// thread or process (SQLite serialises writers: WAL mode, 30 s busy timeout).
class Store {
 public:
  // Opens or creates the database at `path` and migrates it forward to schema_version(). Errors:
  // `path` is a directory; its directory does not exist (only kDefaultResultsDir is created);
  // the file fails PRAGMA quick_check (refused before anything is written; the message says
  // how to restore or recover it); a database written by newer code.
  explicit Store(const std::string& path);
  // Opens an existing database for reading only (SQLITE_OPEN_READONLY): nothing is created,
  // migrated or written, so a store the user may read but not write opens (in a directory the
  // user may not write, as immutable). A schema newer than this build is an error; an older
  // one is read as it is.
  struct ReadOnly {};
  Store(const std::string& path, ReadOnly);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;
  int user_version() const;  // PRAGMA user_version of the open file

  // --- experiments and runs -------------------------------------------------------------------
  // Inserts the experiment or updates its source file and spec; returns its id.
  int64_t upsert_experiment(const std::string& name, const std::string& source_file,
                            const std::string& spec_json);
  // The run (experiment, name) as stored, or a new pending run with these fields. An unknown
  // experiment is created with an empty source file and spec "{}". An existing run is
  // returned unchanged: compare its config_json to detect a changed config.
  RunRecord get_or_create_run(const std::string& experiment, const std::string& name,
                              const std::string& variant, int64_t seed,
                              const std::string& config_json, const std::string& config_yaml,
                              const std::string& overrides_json, const std::string& code_version);
  // Atomically moves a pending, failed or preempted run to running (owner, started_at and
  // heartbeat set); false when the run is running or finished already.
  bool claim_run(int64_t run_id, const std::string& owner);
  // Any of kRunStatuses. finished/failed/preempted set finished_at; running sets started_at.
  void set_run_status(int64_t run_id, const std::string& status, const std::string& message = "");
  // Replaces the stored config (and the variant and seed it names) of a run that starts over
  // (`attnlab run --restart`).
  void update_run_config(int64_t run_id, const std::string& variant, int64_t seed,
                         const std::string& config_json, const std::string& config_yaml,
                         const std::string& overrides_json, const std::string& code_version);
  void heartbeat(int64_t run_id);
  // Seconds since the run's last heartbeat (by the database's clock); infinity when it never
  // had one.
  double heartbeat_age_s(int64_t run_id) const;

  RunRecord run(int64_t run_id) const;                               // throws if absent
  std::vector<RunRecord> runs(const std::string& experiment) const;  // ordered by id
  std::vector<std::string> experiments() const;                      // ordered by name
  bool has_experiment(const std::string& name) const;
  std::string experiment_spec_json(const std::string& name) const;  // throws if absent

  // --- metrics, evals, run facts, artifacts ---------------------------------------------------
  // One transaction; re-logging (run, name, step) replaces the value.
  void log_metrics(int64_t run_id, int64_t step,
                   const std::vector<std::pair<std::string, double>>& values);
  // Deletes metrics and evals with step > `step` (a resumed run rewrites them).
  void delete_metrics_after(int64_t run_id, int64_t step);
  void log_eval(int64_t run_id, int64_t step, const std::string& name,
                const std::string& value_json);
  void set_run_info(int64_t run_id, const std::string& key, const std::string& value_json);
  void add_artifact(int64_t run_id, const std::string& kind, const std::string& path,
                    const std::string& sha256);

  struct MetricPoint {
    int64_t step;
    double value;
  };
  std::vector<MetricPoint> metric(int64_t run_id, const std::string& name) const;  // by step
  std::vector<std::string> metric_names(int64_t run_id) const;
  std::vector<EvalRecord> evals(int64_t run_id, const std::string& name) const;  // by step
  std::map<std::string, std::string> run_info(int64_t run_id) const;  // key -> value_json
  std::vector<ArtifactRecord> artifacts(int64_t run_id) const;

  // --- benchmarks ------------------------------------------------------------------------------
  void add_bench_attention(const BenchAttentionRecord& record);
  void add_bench_train(const BenchTrainRecord& record);
  std::vector<BenchAttentionRecord> bench_attention() const;  // oldest first
  std::vector<BenchTrainRecord> bench_train() const;          // oldest first

 private:
  std::string path_;
  std::unique_ptr<detail::Connection> db_;
};

// The store for a command that only reads (`attnlab report`): read-only, unless its schema is
// older than this build's, which only a writable open can migrate (an error saying so when
// the user may not write it).
std::unique_ptr<Store> open_store_to_read(const std::string& path);

}  // namespace attnlab::store
