// The report's numbers as data for notebooks (`attnlab report --format json,metrics`):
//   report.json   every table (table_json.h), the arms with their runs and statistics' samples
//   metrics.csv   every metric every run of the experiment logged, one value per row
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/table.h"
#include "attnlab/store/store.h"

namespace attnlab::reports {

// {"experiment", "db", "baseline", "arms": [{"name", "plugin", "identity", "runs": [run names],
//  "final_val_losses": [the sample of its statistics]}], "tables": [to_json(table)...],
//  "notes": [omitted tables and why]}.
nlohmann::json report_json(const ExperimentData& data, const std::string& baseline,
                           const std::vector<Table>& tables, const std::vector<std::string>& notes);

inline constexpr const char* kMetricsCsvHeader =
    "run_id,run,arm,variant,seed,status,metric,step,value";

// Writes metrics.csv at `path` (kMetricsCsvHeader; step = steps completed, 1-based like the
// report and the console; values with 17 significant digits, NaN as "nan"), run by run in run order, metrics by name, steps ascending. Written beside `path` and
// renamed into place, so an interrupted write leaves no partial file. Throws ReportError naming
// the path when it cannot be written.
void write_metrics_csv(const store::Store& store, const ExperimentData& data,
                       const std::filesystem::path& path);

}  // namespace attnlab::reports
