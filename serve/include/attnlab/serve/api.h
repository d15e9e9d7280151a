// The JSON answers of `attnlab serve`'s read-only API (docs/SERVE.md), each built from a store
// the caller opened read-only for this one request.
//   GET /api/experiments                     experiments_json
//   GET /api/experiments/<name>/runs         runs_json
//   GET /api/experiments/<name>/compare      compare_json   (?baseline=ARM)
//   GET /api/runs/<id>/metrics               metrics_json   (?since=STEP)
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "attnlab/store/store.h"

namespace attnlab::serve {

// An experiment or run the store does not have: the server answers 404 with what() (one line
// naming it and the store).
class NotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The curves a run page draws.
inline constexpr const char* kCurveMetrics[] = {"train/loss", "val/loss"};
// How many of the last train/step_time_s values the ETA of a running run averages.
inline constexpr size_t kEtaWindow = 20;

// [{"name", "runs": total, "status": {status: count for every kRunStatuses}}], by name.
nlohmann::json experiments_json(const store::Store& store);

// {"experiment", "runs": [{"id", "name", "arm", "variant", "seed", "status", "step",
// "total_steps", "eta_s", "heartbeat_age_s", "final_val_loss", "message", "started_at",
// "finished_at"}]} ordered by id. step: the steps completed at the last train/loss (the
// store's 0-based step + 1, as the report counts; every step here is); total_steps: the config's
// train.steps (null if absent); eta_s (running runs only, else null): (total_steps - step) x the
// mean of the last kEtaWindow train/step_time_s; heartbeat_age_s: running runs only;
// final_val_loss as the report reads it (null when none).
nlohmann::json runs_json(const store::Store& store, const std::string& experiment);

// {"run": {"id", "experiment", "name", "status", "step", "total_steps"}, "curves": {metric:
// [[step, value], ...]}} for kCurveMetrics, points with step >= since (a page polls with its
// last step, which may have gained a val/loss after its train/loss), by step.
nlohmann::json metrics_json(const store::Store& store, int64_t run_id, int64_t since);

// The report's main table (reports::main_table) for `baseline` (resolved as `attnlab report
// --baseline` does; "" = the report's default): {"experiment", "baseline", "arms": [in table
// order], "table": reports::to_json(table)}.
nlohmann::json compare_json(const store::Store& store, const std::string& experiment,
                            const std::string& baseline);

}  // namespace attnlab::serve
