// Reads one experiment out of the store into ExperimentData (see experiment_data.h).
#include "attnlab/reports/experiment_data.h"

#include <algorithm>
#include <cmath>

#include "attnlab/reports/arms.h"
#include "attnlab/reports/stats.h"
#include "attnlab/train/metric_names.h"

namespace attnlab::reports {

namespace {

// The store keys metrics by the 0-based index of the optimizer step; the report counts steps
// completed (index + 1), as the trainer's console does ("step 60/60" is index 59).
std::vector<CurvePoint> curve(const store::Store& store, int64_t run_id, const std::string& name) {
  std::vector<CurvePoint> out;
  for (const auto& p : store.metric(run_id, name)) out.push_back({p.step + 1, p.value});
  return out;
}

std::optional<double> info_number(const std::map<std::string, std::string>& info,
                                  const std::string& key) {
  auto it = info.find(key);
  if (it == info.end()) return std::nullopt;
  auto value = nlohmann::json::parse(it->second, nullptr, false);
  if (!value.is_number()) return std::nullopt;
  return value.get<double>();
}

std::vector<double> values(const std::vector<CurvePoint>& points) {
  std::vector<double> out;
  for (const auto& p : points) out.push_back(p.value);
  return out;
}

// The last gate_mean eval as an L×H matrix; a malformed one is an error naming the run.
std::vector<std::vector<double>> last_gate_mean(const store::Store& store,
                                                const store::RunRecord& run) {
  auto evals = store.evals(run.id, metric::kGateMean);
  if (evals.empty()) return {};
  auto value = nlohmann::json::parse(evals.back().value_json, nullptr, false);
  std::vector<std::vector<double>> out;
  bool ok = value.is_array() && !value.empty();
  for (const auto& layer : value) {
    if (!layer.is_array() || layer.empty()) {
      ok = false;
      break;
    }
    std::vector<double> heads;
    for (const auto& g : layer) {
      if (!g.is_number()) ok = false;
      heads.push_back(g.is_number() ? g.get<double>() : 0.0);
    }
    if (!out.empty() && heads.size() != out.front().size()) ok = false;
    out.push_back(std::move(heads));
  }
  if (!ok) {
    throw ReportError(store.path() + ": run " + std::to_string(run.id) + " (" + run.name +
                      "): eval " + metric::kGateMean + " at step " +
                      std::to_string(evals.back().step) +
                      " is not an L×H array of numbers ([[per head] per layer])");
  }
  return out;
}

// The last value of every attn/* metric of the run, by name without "attn/".
std::map<std::string, double> final_attention_stats(const store::Store& store, int64_t run_id) {
  const std::string prefix = metric::kAttnPrefix;
  std::map<std::string, double> stats;
  for (const auto& name : store.metric_names(run_id)) {
    if (name.rfind(prefix, 0) != 0) continue;
    const auto points = store.metric(run_id, name);
    if (!points.empty()) stats[name.substr(prefix.size())] = points.back().value;
  }
  return stats;
}

nlohmann::json parse_config(const store::Store& store, const store::RunRecord& record) {
  auto config = nlohmann::json::parse(record.config_json, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    throw ReportError(store.path() + ": run " + std::to_string(record.id) + " (" + record.name +
                      ") has a config_json that is not a JSON object; re-run it or fix the row");
  }
  return config;
}

RunData load_run(const store::Store& store, const store::RunRecord& record) {
  RunData run;
  run.record = record;
  run.config = parse_config(store, record);
  run.train_loss = curve(store, record.id, metric::kTrainLoss);
  run.val_loss = curve(store, record.id, metric::kValLoss);
  run.tokens = curve(store, record.id, metric::kTrainTokens);
  run.step_time_s = curve(store, record.id, metric::kTrainStepTimeS);
  run.tokens_per_s = curve(store, record.id, metric::kTrainTokensPerS);
  run.entropy = curve(store, record.id, metric::kAttnEntropy);
  run.info = store.run_info(record.id);
  if (!run.val_loss.empty()) {
    run.final_val_step = run.val_loss.back().step;
    // A diverged run's last val/loss is NaN or inf: no final loss, rather than a wrong one.
    if (std::isfinite(run.val_loss.back().value)) run.final_val_loss = run.val_loss.back().value;
  }
  if (!run.train_loss.empty()) run.steps = run.train_loss.back().step;
  if (!run.tokens.empty()) run.tokens_seen = run.tokens.back().value;
  run.n_params = info_number(run.info, metric::kInfoNParams);
  run.flops_per_token = info_number(run.info, metric::kInfoFlopsPerToken);
  run.training_flops = info_number(run.info, metric::kInfoTrainingFlops);
  run.peak_memory_bytes = info_number(run.info, metric::kInfoPeakMemoryBytes);
  run.peak_gpu_allocated_bytes = info_number(run.info, metric::kInfoPeakGpuAllocatedBytes);
  run.peak_gpu_reserved_bytes = info_number(run.info, metric::kInfoPeakGpuReservedBytes);
  run.mean_tokens_per_s = info_number(run.info, metric::kInfoTokensPerSMean);
  run.mfu_mean = info_number(run.info, metric::kInfoMfuMean);
  if (!run.mean_tokens_per_s && !run.tokens_per_s.empty()) {
    run.mean_tokens_per_s = mean(values(run.tokens_per_s));
  }
  if (!run.step_time_s.empty()) run.median_step_time_s = median(values(run.step_time_s));
  run.gate_mean_LH = last_gate_mean(store, record);
  run.final_attention_stats = final_attention_stats(store, record.id);
  run.evals = read_run_evals(store, record);
  return run;
}

// The `report:` section of the runs' resolved configs (the first run that has one).
nlohmann::json report_section(const std::vector<RunData>& runs) {
  for (const auto& run : runs) {
    if (run.config.contains("report")) return run.config["report"];
  }
  return nlohmann::json::object();
}

}  // namespace

std::vector<std::string> ExperimentData::arm_names() const {
  std::vector<std::string> out;
  for (const auto& arm : arms) out.push_back(arm.name);
  return out;
}

std::vector<std::string> ExperimentData::plugins() const {
  std::vector<std::string> out;
  for (const auto& arm : arms) {
    if (std::find(out.begin(), out.end(), arm.plugin) == out.end()) out.push_back(arm.plugin);
  }
  return out;
}

bool ExperimentData::has_plugin(const std::string& plugin) const {
  return std::any_of(arms.begin(), arms.end(), [&](const Arm& a) { return a.plugin == plugin; });
}

std::vector<const RunData*> ExperimentData::runs_of(const std::string& arm) const {
  std::vector<const RunData*> out;
  for (const auto& run : runs) {
    if (run.arm == arm) out.push_back(&run);
  }
  return out;
}

std::vector<double> ExperimentData::final_val_losses(const std::string& arm) const {
  std::vector<double> out;
  for (const auto* run : runs_of(arm)) {
    if (run->finished() && run->final_val_loss) out.push_back(*run->final_val_loss);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ExperimentData::indistinguishable_arms() const {
  // seed -> val/loss curve of each arm's finished runs (empty map: nothing to compare)
  const auto curves_by_seed = [&](const std::string& arm) {
    std::map<int64_t, std::vector<std::pair<int64_t, double>>> out;
    for (const auto* run : runs_of(arm)) {
      if (!run->finished() || run->val_loss.empty()) continue;
      auto& curve = out[run->record.seed];
      for (const auto& p : run->val_loss) curve.emplace_back(p.step, p.value);
    }
    return out;
  };
  const auto names = arm_names();
  std::vector<decltype(curves_by_seed(""))> curves;
  for (const auto& arm : names) curves.push_back(curves_by_seed(arm));
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t a = 0; a < names.size(); ++a) {
    if (curves[a].empty()) continue;
    for (size_t b = a + 1; b < names.size(); ++b) {
      if (curves[b] == curves[a]) pairs.emplace_back(names[a], names[b]);
    }
  }
  return pairs;
}

std::vector<std::string> indistinguishable_notes(const ExperimentData& data,
                                                 const std::vector<std::string>& among) {
  const auto listed = [&](const std::string& v) {
    return among.empty() || std::find(among.begin(), among.end(), v) != among.end();
  };
  std::vector<std::string> notes;
  for (const auto& [a, b] : data.indistinguishable_arms()) {
    if (!listed(a) || !listed(b)) continue;
    notes.push_back(a + " and " + b +
                    " have identical validation losses at every eval of every seed: at this "
                    "experiment's settings they compute the same model (compare their configs, "
                    "e.g. the attention options with the sequence length), so the difference "
                    "between them is not measured.");
  }
  return notes;
}

ExperimentData load_experiment(const store::Store& store, const std::string& experiment) {
  if (!store.has_experiment(experiment)) {
    std::string known;
    for (const auto& name : store.experiments()) known += (known.empty() ? "" : ", ") + name;
    throw ReportError(store.path() + ": no experiment named '" + experiment + "' (known: " +
                      (known.empty() ? "none; run 'attnlab run <experiment.yaml>' first" : known) +
                      ")");
  }
  ExperimentData data;
  data.name = experiment;
  data.db_path = store.path();
  for (const auto& record : store.runs(experiment)) data.runs.push_back(load_run(store, record));
  group_into_arms(data);
  data.report_config = report_section(data.runs);
  data.bench_attention = store.bench_attention();
  data.bench_train = store.bench_train();
  return data;
}

}  // namespace attnlab::reports
