// The JSON answers of the read-only API: experiments with run counts, runs with live status and
// ETA, a run's curves, and the report's main table.
#include "attnlab/serve/api.h"

#include <cmath>
#include <numeric>

#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/table_json.h"
#include "attnlab/reports/tables.h"

namespace attnlab::serve {

namespace {

nlohmann::json optional_number(std::optional<double> value) {
  return value && std::isfinite(*value) ? nlohmann::json(*value) : nlohmann::json();
}

reports::ExperimentData load(const store::Store& store, const std::string& experiment) {
  if (!store.has_experiment(experiment)) {
    throw NotFound(store.path() + ": no experiment '" + experiment + "'");
  }
  return reports::load_experiment(store, experiment);
}

std::optional<int64_t> total_steps(const nlohmann::json& config) {
  const auto train = config.find("train");
  if (train == config.end() || !train->is_object()) return std::nullopt;
  const auto steps = train->find("steps");
  if (steps == train->end() || !steps->is_number_integer()) return std::nullopt;
  return steps->get<int64_t>();
}

// (total - step) x the mean of the last kEtaWindow step times; nullopt without either.
std::optional<double> eta_s(const reports::RunData& run) {
  const auto total = total_steps(run.config);
  const auto& times = run.step_time_s;
  if (!total || times.empty()) return std::nullopt;
  const size_t n = std::min(times.size(), kEtaWindow);
  const double sum =
      std::accumulate(times.end() - static_cast<std::ptrdiff_t>(n), times.end(), 0.0,
                      [](double s, const reports::CurvePoint& p) { return s + p.value; });
  return std::max<int64_t>(*total - run.steps, 0) * (sum / static_cast<double>(n));
}

nlohmann::json run_json(const store::Store& store, const reports::RunData& run) {
  const auto& r = run.record;
  const bool running = r.status == "running";
  const auto total = total_steps(run.config);
  return {{"id", r.id},
          {"name", r.name},
          {"arm", run.arm},
          {"variant", r.variant},
          {"seed", r.seed},
          {"status", r.status},
          {"step", run.steps},
          {"total_steps", total ? nlohmann::json(*total) : nlohmann::json()},
          {"eta_s", running ? optional_number(eta_s(run)) : nlohmann::json()},
          {"heartbeat_age_s",
           running ? optional_number(store.heartbeat_age_s(r.id)) : nlohmann::json()},
          {"final_val_loss", optional_number(run.final_val_loss)},
          {"message", r.message},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at}};
}

store::RunRecord find_run(const store::Store& store, int64_t run_id) {
  try {
    return store.run(run_id);
  } catch (const store::StoreError& e) {
    if (std::string(e.what()).find(": no run with id ") == std::string::npos) throw;
    throw NotFound(e.what());
  }
}

}  // namespace

nlohmann::json experiments_json(const store::Store& store) {
  auto out = nlohmann::json::array();
  for (const auto& name : store.experiments()) {
    nlohmann::json counts = nlohmann::json::object();
    for (const char* status : store::kRunStatuses) counts[status] = 0;
    const auto runs = store.runs(name);
    for (const auto& run : runs) counts[run.status] = counts[run.status].get<int>() + 1;
    out.push_back({{"name", name}, {"runs", runs.size()}, {"status", counts}});
  }
  return out;
}

nlohmann::json runs_json(const store::Store& store, const std::string& experiment) {
  const auto data = load(store, experiment);
  auto runs = nlohmann::json::array();
  for (const auto& run : data.runs) runs.push_back(run_json(store, run));
  return {{"experiment", experiment}, {"runs", runs}};
}

nlohmann::json metrics_json(const store::Store& store, int64_t run_id, int64_t since) {
  const auto record = find_run(store, run_id);
  nlohmann::json curves = nlohmann::json::object();
  int64_t steps_done = 0;  // the last train/loss (kCurveMetrics[0]) step
  for (const char* name : kCurveMetrics) {
    const auto stored = store.metric(run_id, name);
    if (name == kCurveMetrics[0] && !stored.empty()) steps_done = stored.back().step + 1;
    auto points = nlohmann::json::array();
    for (const auto& p : stored) {
      const int64_t step = p.step + 1;  // stored 0-based: steps completed, as the report counts
      if (step >= since && std::isfinite(p.value)) points.push_back({step, p.value});
    }
    curves[name] = points;
  }
  const auto total = total_steps(nlohmann::json::parse(record.config_json, nullptr, false));
  nlohmann::json run = {{"id", record.id},
                        {"experiment", record.experiment},
                        {"name", record.name},
                        {"status", record.status},
                        {"step", steps_done},
                        {"total_steps", total ? nlohmann::json(*total) : nlohmann::json()}};
  return {{"run", run}, {"curves", curves}};
}

nlohmann::json compare_json(const store::Store& store, const std::string& experiment,
                            const std::string& baseline) {
  const auto data = load(store, experiment);
  const std::string resolved = reports::resolve_baseline(data, baseline);
  return {{"experiment", experiment},
          {"baseline", resolved},
          {"arms", reports::arms_baseline_first(data, resolved)},
          {"table", reports::to_json(reports::main_table(data, resolved))}};
}

}  // namespace attnlab::serve
