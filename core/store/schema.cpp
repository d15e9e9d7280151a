// The store's schema as a list of forward migrations. Entry i takes PRAGMA user_version from
// i to i + 1; a new column or table is a new entry appended at the end, never an edit of an
// old one (databases in the field have already applied it). Opening runs the missing entries
// in order, each in one transaction with its user_version bump.
#include <string>
#include <vector>

#include "attnlab/store/store.h"

namespace attnlab::store {

const std::vector<std::string>& schema_migrations() {
  static const std::vector<std::string> migrations = {
      // 0 -> 1: experiments, runs and everything a run logs.
      R"sql(
CREATE TABLE experiments (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  source_file TEXT NOT NULL DEFAULT '',
  spec_json   TEXT NOT NULL DEFAULT '{}',
  created_at  TEXT NOT NULL
);
CREATE TABLE runs (
  id             INTEGER PRIMARY KEY,
  experiment_id  INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  variant        TEXT NOT NULL,
  seed           INTEGER NOT NULL,
  status         TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'finished', 'failed', 'preempted')),
  config_json    TEXT NOT NULL DEFAULT '{}',
  config_yaml    TEXT NOT NULL DEFAULT '',
  overrides_json TEXT NOT NULL DEFAULT '[]',
  code_version   TEXT NOT NULL DEFAULT '',
  message        TEXT NOT NULL DEFAULT '',
  created_at     TEXT NOT NULL,
  started_at     TEXT,
  finished_at    TEXT,
  heartbeat_at   TEXT,
  owner          TEXT NOT NULL DEFAULT '',
  UNIQUE (experiment_id, name)
);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step   INTEGER NOT NULL,
  name   TEXT NOT NULL,
  value  REAL,
  time   REAL NOT NULL,
  PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;
CREATE TABLE evals (
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step       INTEGER NOT NULL,
  name       TEXT NOT NULL,
  value_json TEXT NOT NULL,
  PRIMARY KEY (run_id, name, step)
);
CREATE TABLE artifacts (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind   TEXT NOT NULL,
  path   TEXT NOT NULL,
  sha256 TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, kind, path)
);
CREATE TABLE run_info (
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  value_json TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);
)sql",
      // 1 -> 2: benchmark results of `attnlab bench`.
      R"sql(
CREATE TABLE bench_attention (
  id         INTEGER PRIMARY KEY,
  plugin     TEXT NOT NULL,
  seq        INTEGER NOT NULL,
  batch      INTEGER NOT NULL,
  heads      INTEGER NOT NULL,
  head_dim   INTEGER NOT NULL,
  dtype      TEXT NOT NULL,
  fwd_ms     REAL,
  fwdbwd_ms  REAL,
  peak_bytes INTEGER,
  gflops     REAL,
  device     TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE bench_train (
  id           INTEGER PRIMARY KEY,
  preset       TEXT NOT NULL,
  variant      TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  batch        INTEGER NOT NULL,
  tokens_per_s REAL,
  step_ms      REAL,
  peak_bytes   INTEGER,
  mfu          REAL,
  device       TEXT NOT NULL,
  created_at   TEXT NOT NULL
);
)sql",
      // 2 -> 3: the attention benchmark's memory above its inputs (NULL in older rows).
      R"sql(
ALTER TABLE bench_attention ADD COLUMN extra_bytes INTEGER;
)sql",
  };
  return migrations;
}

int schema_version() { return static_cast<int>(schema_migrations().size()); }

}  // namespace attnlab::store
