// report.json and metrics.csv: the report's numbers as data (data_exports.h).
#include "attnlab/reports/data_exports.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "attnlab/reports/table_json.h"

namespace attnlab::reports {

namespace fs = std::filesystem;

namespace {

nlohmann::json arm_json(const ExperimentData& data, const Arm& arm) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto* run : data.runs_of(arm.name)) runs.push_back(run->record.name);
  return {{"name", arm.name},
          {"plugin", arm.plugin},
          {"identity", arm.identity},
          {"runs", std::move(runs)},
          {"final_val_losses", data.final_val_losses(arm.name)}};
}

std::string number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return buf;
}

// One run's rows: its fixed columns, then metric,step,value per logged value; the step is
// completed steps (the store's 0-based index + 1), as in the rest of the report.
void write_run_metrics(std::ostream& out, const store::Store& store, const RunData& run) {
  const auto& r = run.record;
  const std::string prefix = std::to_string(r.id) + "," + csv_field(r.name) + "," +
                             csv_field(run.arm) + "," + csv_field(r.variant) + "," +
                             std::to_string(r.seed) + "," + csv_field(r.status) + ",";
  for (const auto& name : store.metric_names(r.id)) {
    for (const auto& point : store.metric(r.id, name)) {
      out << prefix << csv_field(name) << "," << point.step + 1 << "," << number(point.value)
          << "\n";
    }
  }
}

}  // namespace

nlohmann::json report_json(const ExperimentData& data, const std::string& baseline,
                           const std::vector<Table>& tables, const std::vector<std::string>& notes) {
  nlohmann::json arms = nlohmann::json::array(), table_list = nlohmann::json::array();
  for (const auto& arm : data.arms) arms.push_back(arm_json(data, arm));
  for (const auto& table : tables) table_list.push_back(to_json(table));
  return {{"experiment", data.name}, {"db", data.db_path},         {"baseline", baseline},
          {"arms", std::move(arms)}, {"tables", std::move(table_list)}, {"notes", notes}};
}

void write_metrics_csv(const store::Store& store, const ExperimentData& data, const fs::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  const fs::path partial = path.string() + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  out << kMetricsCsvHeader << "\n";
  for (const auto& run : data.runs) write_run_metrics(out, store, run);
  out.close();
  if (!out || (fs::rename(partial, path, ec), ec)) {
    const std::string reason = ec ? ec.message() : std::strerror(errno);
    fs::remove(partial, ec);
    throw ReportError("cannot write " + path.string() + ": " + reason +
                      " (pass a writable --out DIR)");
  }
}

}  // namespace attnlab::reports
