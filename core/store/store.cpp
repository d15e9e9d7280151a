// Store: opening and migrating the database, experiments and runs (the scheduling side:
// create, claim, status, heartbeat). What runs log lives in store_logs.cpp, benchmark results
// in store_bench.cpp.
#include "attnlab/store/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "json_check.h"
#include "sqlite_connection.h"

namespace attnlab::store {

using detail::Statement;
using detail::Transaction;
namespace fs = std::filesystem;

namespace {

constexpr const char* kNow = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

constexpr const char* kRunColumns =
    "r.id, e.name, r.name, r.variant, r.seed, r.status, r.config_json, r.config_yaml, "
    "r.overrides_json, r.code_version, r.message, r.created_at, r.started_at, r.finished_at, "
    "r.heartbeat_at, r.owner";

RunRecord read_run(const Statement& s) {
  RunRecord r;
  r.id = s.column_int(0);
  r.experiment = s.column_text(1);
  r.name = s.column_text(2);
  r.variant = s.column_text(3);
  r.seed = s.column_int(4);
  r.status = s.column_text(5);
  r.config_json = s.column_text(6);
  r.config_yaml = s.column_text(7);
  r.overrides_json = s.column_text(8);
  r.code_version = s.column_text(9);
  r.message = s.column_text(10);
  r.created_at = s.column_text(11);
  r.started_at = s.column_text(12);
  r.finished_at = s.column_text(13);
  r.heartbeat_at = s.column_text(14);
  r.owner = s.column_text(15);
  return r;
}

void reject_directory(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw StoreError(path + " is a directory (pass the path of a database file, e.g. " +
                     (fs::path(path) / "attnlab.db").string() + ")");
  }
}

// A writable open creates the database file, never a directory a typo named: only the default
// results folder (kDefaultResultsDir, under the working directory) is created.
void check_path_for_writing(const std::string& path) {
  if (path.empty()) throw StoreError("store: empty database path (pass --db PATH)");
  if (path == ":memory:") return;
  reject_directory(path);
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (parent.empty() || fs::is_directory(parent, ec)) return;
  if (fs::exists(parent, ec)) {
    throw StoreError(path + ": " + parent.string() + " is not a directory; fix the path");
  }
  if (fs::path(path).lexically_normal().parent_path() != fs::path(kDefaultResultsDir)) {
    throw StoreError(path + ": directory " + parent.string() +
                     " does not exist; create it or fix the path");
  }
  fs::create_directory(parent, ec);
  if (ec) {
    throw StoreError(path + ": cannot create the results folder " + parent.string() + ": " +
                     ec.message() + " (run from a writable directory, or pass --db PATH)");
  }
}

// Writing to a damaged file can spread the damage over pages that are still good; such a file
// is refused before anything (journal mode, migrations) is written to it.
void refuse_damaged(detail::Connection& db) {
  const std::string problems = db.quick_check_problems();
  if (problems.empty()) return;
  throw StoreError(db.path() + ": the store is damaged (PRAGMA quick_check: " + problems +
                   "); nothing was written to it: " + detail::damaged_store_advice(db.path()));
}

// A read-only connection. SQLite reads a WAL store through its -shm file, which it cannot
// create in a directory the reader may not write; such a store is then read as immutable,
// unless a -wal file holds writes not yet in the main file (reading around them would show
// stale rows).
std::unique_ptr<detail::Connection> open_read_only(const std::string& path) {
  using Mode = detail::Connection::Mode;
  auto db = std::make_unique<detail::Connection>(path, Mode::kReadOnly);
  const int rc =
      sqlite3_exec(db->handle(), "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if ((rc & 0xff) != SQLITE_READONLY && (rc & 0xff) != SQLITE_CANTOPEN) return db;
  std::error_code ec;
  if (fs::file_size(path + "-wal", ec) > 0 && !ec) {
    throw StoreError(path + ": cannot read the store: you may not write its directory and " + path +
                     "-wal holds writes not yet in it (wait for the writer to finish, or "
                     "copy the store with its -wal file somewhere you may write)");
  }
  return std::make_unique<detail::Connection>(path, Mode::kImmutable);
}

StoreError newer_schema_error(const std::string& path, int version) {
  return StoreError(path + ": schema version " + std::to_string(version) +
                    " is newer than this attnlab build knows (" + std::to_string(schema_version()) +
                    "); rebuild attnlab from a newer checkout or pass another --db");
}

}  // namespace

bool is_valid_run_status(const std::string& status) {
  return std::find(std::begin(kRunStatuses), std::end(kRunStatuses), status) !=
         std::end(kRunStatuses);
}

Store::Store(const std::string& path) : path_(path) {
  check_path_for_writing(path);
  db_ = std::make_unique<detail::Connection>(path);
  refuse_damaged(*db_);
  db_->exec("set up the store's journal", "PRAGMA journal_mode=WAL");
  db_->exec("set up the store", "PRAGMA foreign_keys=ON");
  db_->exec("set up the store", "PRAGMA synchronous=NORMAL");
  const auto& migrations = schema_migrations();
  while (true) {
    // Re-read under the write lock: another process may have migrated.
    Transaction tx(*db_, "migrate the schema");
    int version = user_version();
    if (version > schema_version()) {
      throw newer_schema_error(path_, version);
    }
    if (version == schema_version()) {
      tx.commit();
      break;
    }
    const std::string step = "migrate the schema from version " + std::to_string(version) + " to " +
                             std::to_string(version + 1);
    db_->exec(step, migrations[static_cast<size_t>(version)]);
    db_->exec(step, "PRAGMA user_version = " + std::to_string(version + 1));
    tx.commit();
  }
}

Store::Store(const std::string& path, ReadOnly) : path_(path) {
  reject_directory(path);
  db_ = open_read_only(path);
  if (user_version() > schema_version()) {
    throw newer_schema_error(path_, user_version());
  }
}

std::unique_ptr<Store> open_store_to_read(const std::string& path) {
  auto store = std::make_unique<Store>(path, Store::ReadOnly{});
  const int version = store->user_version();
  if (version >= schema_version()) return store;
  store.reset();
  try {
    return std::make_unique<Store>(path);  // migrates
  } catch (const StoreError& e) {
    throw StoreError(std::string(e.what()) + "; " + path + " has schema version " +
                     std::to_string(version) + " and must be migrated to " +
                     std::to_string(schema_version()) +
                     " by a writable open first: run any attnlab command on it as someone who "
                     "may write it, or copy it somewhere you may write");
  }
}

Store::~Store() = default;

const std::string& Store::path() const { return path_; }

int Store::user_version() const {
  Statement s(*db_, "read the schema version", "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.column_int(0));
}

int64_t Store::upsert_experiment(const std::string& name, const std::string& source_file,
                                 const std::string& spec_json) {
  if (name.empty()) throw StoreError(path_ + ": experiment name is empty (set experiment.name)");
  detail::require_json(path_, "spec of experiment '" + name + "'", spec_json);
  Statement s(*db_, "save experiment '" + name + "'",
              std::string("INSERT INTO experiments (name, source_file, spec_json, created_at) "
                          "VALUES (?1, ?2, ?3, ") +
                  kNow +
                  ") "
                  "ON CONFLICT(name) DO UPDATE SET source_file = excluded.source_file, "
                  "spec_json = excluded.spec_json RETURNING id");
  s.bind(1, name).bind(2, source_file).bind(3, spec_json);
  s.step();
  int64_t id = s.column_int(0);
  s.run();
  return id;
}

RunRecord Store::get_or_create_run(const std::string& experiment, const std::string& name,
                                   const std::string& variant, int64_t seed,
                                   const std::string& config_json, const std::string& config_yaml,
                                   const std::string& overrides_json,
                                   const std::string& code_version) {
  if (experiment.empty() || name.empty()) {
    throw StoreError(path_ + ": run needs an experiment and a name (got '" + experiment + "', '" +
                     name + "')");
  }
  detail::require_json(path_, "config_json of run '" + name + "'", config_json);
  detail::require_json(path_, "overrides_json of run '" + name + "'", overrides_json);
  {
    Transaction tx(*db_, "create run '" + experiment + "/" + name + "'");
    Statement exp(*db_, "create run '" + experiment + "/" + name + "'",
                  std::string("INSERT INTO experiments (name, created_at) VALUES (?1, ") + kNow +
                      ") ON CONFLICT(name) DO NOTHING");
    exp.bind(1, experiment).run();
    Statement ins(*db_, "create run '" + experiment + "/" + name + "'",
                  std::string("INSERT INTO runs (experiment_id, name, variant, seed, "
                              "config_json, config_yaml, overrides_json, code_version, "
                              "created_at) SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ") +
                      kNow +
                      " FROM experiments WHERE name = ?1 "
                      "ON CONFLICT(experiment_id, name) DO NOTHING");
    ins.bind(1, experiment).bind(2, name).bind(3, variant).bind(4, seed).bind(5, config_json);
    ins.bind(6, config_yaml).bind(7, overrides_json).bind(8, code_version).run();
    tx.commit();
  }
  Statement s(*db_, "read run '" + experiment + "/" + name + "'",
              std::string("SELECT ") + kRunColumns +
                  " FROM runs r JOIN experiments e ON e.id = r.experiment_id "
                  "WHERE e.name = ?1 AND r.name = ?2");
  s.bind(1, experiment).bind(2, name);
  if (!s.step()) {
    throw StoreError(path_ + ": run '" + experiment + "/" + name + "' vanished after insert");
  }
  return read_run(s);
}

bool Store::claim_run(int64_t run_id, const std::string& owner) {
  run(run_id);  // unknown ids are an error, not "someone else has it"
  Statement s(*db_, "claim run " + std::to_string(run_id),
              std::string("UPDATE runs SET status = 'running', owner = ?2, message = '', "
                          "started_at = ") +
                  kNow + ", heartbeat_at = " + kNow +
                  ", finished_at = NULL WHERE id = ?1 "
                  "AND status IN ('pending', 'failed', 'preempted')");
  s.bind(1, run_id).bind(2, owner).run();
  return db_->changes() == 1;
}

void Store::set_run_status(int64_t run_id, const std::string& status, const std::string& message) {
  if (!is_valid_run_status(status)) {
    throw StoreError(path_ + ": unknown run status '" + status +
                     "' (expected pending, running, finished, failed or preempted)");
  }
  std::string sql = "UPDATE runs SET status = ?2, message = ?3";
  if (status == "running") sql += std::string(", started_at = COALESCE(started_at, ") + kNow + ")";
  if (status == "finished" || status == "failed" || status == "preempted") {
    sql += std::string(", finished_at = ") + kNow;
  }
  if (status == "pending") sql += ", started_at = NULL, finished_at = NULL";
  Statement s(*db_, "set the status of run " + std::to_string(run_id), sql + " WHERE id = ?1");
  s.bind(1, run_id).bind(2, status).bind(3, message).run();
  if (db_->changes() != 1) throw StoreError(path_ + ": no run with id " + std::to_string(run_id));
}

void Store::update_run_config(int64_t run_id, const std::string& variant, int64_t seed,
                              const std::string& config_json, const std::string& config_yaml,
                              const std::string& overrides_json, const std::string& code_version) {
  detail::require_json(path_, "config_json of run " + std::to_string(run_id), config_json);
  detail::require_json(path_, "overrides_json of run " + std::to_string(run_id), overrides_json);
  Statement s(*db_, "update the config of run " + std::to_string(run_id),
              "UPDATE runs SET variant = ?2, seed = ?3, config_json = ?4, config_yaml = ?5, "
              "overrides_json = ?6, code_version = ?7 WHERE id = ?1");
  s.bind(1, run_id).bind(2, variant).bind(3, seed).bind(4, config_json).bind(5, config_yaml);
  s.bind(6, overrides_json).bind(7, code_version).run();
  if (db_->changes() != 1) throw StoreError(path_ + ": no run with id " + std::to_string(run_id));
}

void Store::heartbeat(int64_t run_id) {
  Statement s(*db_, "record the heartbeat of run " + std::to_string(run_id),
              std::string("UPDATE runs SET heartbeat_at = ") + kNow + " WHERE id = ?1");
  s.bind(1, run_id).run();
  if (db_->changes() != 1) throw StoreError(path_ + ": no run with id " + std::to_string(run_id));
}

double Store::heartbeat_age_s(int64_t run_id) const {
  Statement s(
      *db_, "read the heartbeat of run " + std::to_string(run_id),
      "SELECT (julianday('now') - julianday(heartbeat_at)) * 86400.0 FROM runs WHERE id = ?1");
  s.bind(1, run_id);
  if (!s.step()) throw StoreError(path_ + ": no run with id " + std::to_string(run_id));
  const double age = s.column_double(0);
  return std::isnan(age) ? std::numeric_limits<double>::infinity() : age;
}

RunRecord Store::run(int64_t run_id) const {
  Statement s(*db_, "read run " + std::to_string(run_id),
              std::string("SELECT ") + kRunColumns +
                  " FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?1");
  s.bind(1, run_id);
  if (!s.step()) {
    throw StoreError(path_ + ": no run with id " + std::to_string(run_id) +
                     " (list runs with 'attnlab report --experiment NAME')");
  }
  return read_run(s);
}

std::vector<RunRecord> Store::runs(const std::string& experiment) const {
  Statement s(*db_, "list the runs of experiment '" + experiment + "'",
              std::string("SELECT ") + kRunColumns +
                  " FROM runs r JOIN experiments e ON e.id = r.experiment_id "
                  "WHERE e.name = ?1 ORDER BY r.id");
  s.bind(1, experiment);
  std::vector<RunRecord> out;
  while (s.step()) out.push_back(read_run(s));
  return out;
}

std::vector<std::string> Store::experiments() const {
  Statement s(*db_, "list experiments", "SELECT name FROM experiments ORDER BY name");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column_text(0));
  return out;
}

bool Store::has_experiment(const std::string& name) const {
  Statement s(*db_, "look up experiment '" + name + "'",
              "SELECT 1 FROM experiments WHERE name = ?1");
  s.bind(1, name);
  return s.step();
}

std::string Store::experiment_spec_json(const std::string& name) const {
  Statement s(*db_, "read the spec of experiment '" + name + "'",
              "SELECT spec_json FROM experiments WHERE name = ?1");
  s.bind(1, name);
  if (!s.step()) throw StoreError(path_ + ": no experiment named '" + name + "'");
  return s.column_text(0);
}

}  // namespace attnlab::store
