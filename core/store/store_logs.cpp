// Store: what a run logs while it trains (metrics, evals, run facts, artifacts) and the
// queries the report reads them back with.
#include <chrono>

#include "attnlab/store/store.h"
#include "json_check.h"
#include "sqlite_connection.h"

namespace attnlab::store {

using detail::Statement;
using detail::Transaction;

namespace {

double unix_time_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void Store::log_metrics(int64_t run_id, int64_t step,
                        const std::vector<std::pair<std::string, double>>& values) {
  const double now = unix_time_s();
  Transaction tx(*db_, "log metrics of run " + std::to_string(run_id));
  Statement s(*db_, "log metrics of run " + std::to_string(run_id),
              "INSERT OR REPLACE INTO metrics (run_id, step, name, value, time) "
              "VALUES (?1, ?2, ?3, ?4, ?5)");
  for (const auto& [name, value] : values) {
    s.bind(1, run_id).bind(2, step).bind(3, name).bind(4, value).bind(5, now);
    s.run();
    s.reset();
  }
  tx.commit();
}

void Store::delete_metrics_after(int64_t run_id, int64_t step) {
  Transaction tx(*db_, "delete metrics after step " + std::to_string(step) + " of run " +
                           std::to_string(run_id));
  for (const char* table : {"metrics", "evals"}) {
    Statement s(
        *db_,
        "delete metrics after step " + std::to_string(step) + " of run " + std::to_string(run_id),
        std::string("DELETE FROM ") + table + " WHERE run_id = ?1 AND step > ?2");
    s.bind(1, run_id).bind(2, step).run();
  }
  tx.commit();
}

void Store::log_eval(int64_t run_id, int64_t step, const std::string& name,
                     const std::string& value_json) {
  detail::require_json(db_->path(), "eval '" + name + "'", value_json);
  Statement s(*db_, "log eval '" + name + "' of run " + std::to_string(run_id),
              "INSERT OR REPLACE INTO evals (run_id, step, name, value_json) "
              "VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, run_id).bind(2, step).bind(3, name).bind(4, value_json).run();
}

void Store::set_run_info(int64_t run_id, const std::string& key, const std::string& value_json) {
  detail::require_json(db_->path(), "run_info '" + key + "'", value_json);
  Statement s(*db_, "save run_info '" + key + "' of run " + std::to_string(run_id),
              "INSERT OR REPLACE INTO run_info (run_id, key, value_json) VALUES (?1, ?2, ?3)");
  s.bind(1, run_id).bind(2, key).bind(3, value_json).run();
}

void Store::add_artifact(int64_t run_id, const std::string& kind, const std::string& path,
                         const std::string& sha256) {
  Statement s(*db_, "save artifact '" + path + "' of run " + std::to_string(run_id),
              "INSERT OR REPLACE INTO artifacts (run_id, kind, path, sha256) "
              "VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, run_id).bind(2, kind).bind(3, path).bind(4, sha256).run();
}

std::vector<Store::MetricPoint> Store::metric(int64_t run_id, const std::string& name) const {
  Statement s(*db_, "read metric '" + name + "' of run " + std::to_string(run_id),
              "SELECT step, value FROM metrics WHERE run_id = ?1 AND name = ?2 ORDER BY step");
  s.bind(1, run_id).bind(2, name);
  std::vector<MetricPoint> out;
  while (s.step()) out.push_back({s.column_int(0), s.column_double(1)});
  return out;
}

std::vector<std::string> Store::metric_names(int64_t run_id) const {
  Statement s(*db_, "list the metrics of run " + std::to_string(run_id),
              "SELECT DISTINCT name FROM metrics WHERE run_id = ?1 ORDER BY name");
  s.bind(1, run_id);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column_text(0));
  return out;
}

std::vector<EvalRecord> Store::evals(int64_t run_id, const std::string& name) const {
  Statement s(*db_, "read eval '" + name + "' of run " + std::to_string(run_id),
              "SELECT step, name, value_json FROM evals WHERE run_id = ?1 AND name = ?2 "
              "ORDER BY step");
  s.bind(1, run_id).bind(2, name);
  std::vector<EvalRecord> out;
  while (s.step()) out.push_back({s.column_int(0), s.column_text(1), s.column_text(2)});
  return out;
}

std::map<std::string, std::string> Store::run_info(int64_t run_id) const {
  Statement s(*db_, "read the run_info of run " + std::to_string(run_id),
              "SELECT key, value_json FROM run_info WHERE run_id = ?1");
  s.bind(1, run_id);
  std::map<std::string, std::string> out;
  while (s.step()) out[s.column_text(0)] = s.column_text(1);
  return out;
}

std::vector<ArtifactRecord> Store::artifacts(int64_t run_id) const {
  Statement s(*db_, "read the artifacts of run " + std::to_string(run_id),
              "SELECT kind, path, sha256 FROM artifacts WHERE run_id = ?1 ORDER BY kind, path");
  s.bind(1, run_id);
  std::vector<ArtifactRecord> out;
  while (s.step()) out.push_back({s.column_text(0), s.column_text(1), s.column_text(2)});
  return out;
}

}  // namespace attnlab::store
