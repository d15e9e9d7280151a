// Reads one experiment out of the store into ExperimentData (see experiment_data.h).
#include "attnlab/reports/experiment_data.h"

#include <algorithm>
#include <cmath>

#include "attnlab/reports/stats.h"

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
  auto evals = store.evals(run.id, "gate_mean");
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
                      "): eval gate_mean at step " + std::to_string(evals.back().step) +
                      " is not an L×H array of numbers ([[per head] per layer])");
  }
  return out;
}

RunData load_run(const store::Store& store, const store::RunRecord& record) {
  RunData run;
  run.record = record;
  run.train_loss = curve(store, record.id, "train/loss");
  run.val_loss = curve(store, record.id, "val/loss");
  run.tokens = curve(store, record.id, "train/tokens");
  run.step_time_s = curve(store, record.id, "train/step_time_s");
  run.tokens_per_s = curve(store, record.id, "train/tokens_per_s");
  run.info = store.run_info(record.id);
  if (!run.val_loss.empty()) {
    run.final_val_step = run.val_loss.back().step;
    // A diverged run's last val/loss is NaN or inf: no final loss, rather than a wrong one.
    if (std::isfinite(run.val_loss.back().value)) run.final_val_loss = run.val_loss.back().value;
  }
  if (!run.train_loss.empty()) run.steps = run.train_loss.back().step;
  if (!run.tokens.empty()) run.tokens_seen = run.tokens.back().value;
  run.n_params = info_number(run.info, "n_params");
  run.flops_per_token = info_number(run.info, "flops_per_token");
  run.peak_memory_bytes = info_number(run.info, "peak_memory_bytes");
  run.mean_tokens_per_s = info_number(run.info, "tokens_per_s_mean");
  if (!run.mean_tokens_per_s && !run.tokens_per_s.empty()) {
    run.mean_tokens_per_s = mean(values(run.tokens_per_s));
  }
  if (!run.step_time_s.empty()) run.median_step_time_s = median(values(run.step_time_s));
  run.gate_mean_LH = last_gate_mean(store, record);
  return run;
}

// The `report:` section of the runs' resolved configs (the first run that has one).
nlohmann::json report_section(const store::Store& store, const std::vector<RunData>& runs) {
  for (const auto& run : runs) {
    auto config = nlohmann::json::parse(run.record.config_json, nullptr, false);
    if (config.is_discarded()) {
      throw ReportError(store.path() + ": run " + std::to_string(run.record.id) +
                        " has a config_json that is not JSON; re-run it or fix the row");
    }
    if (config.is_object() && config.contains("report")) return config["report"];
  }
  return nlohmann::json::object();
}

}  // namespace

std::vector<const RunData*> ExperimentData::runs_of(const std::string& variant) const {
  std::vector<const RunData*> out;
  for (const auto& run : runs) {
    if (run.record.variant == variant) out.push_back(&run);
  }
  return out;
}

std::vector<double> ExperimentData::final_val_losses(const std::string& variant) const {
  std::vector<double> out;
  for (const auto* run : runs_of(variant)) {
    if (run->finished() && run->final_val_loss) out.push_back(*run->final_val_loss);
  }
  return out;
}

bool ExperimentData::has_variant(const std::string& variant) const {
  return std::find(variants.begin(), variants.end(), variant) != variants.end();
}

std::vector<std::pair<std::string, std::string>> ExperimentData::indistinguishable_variants()
    const {
  // seed -> val/loss curve of each variant's finished runs (empty map: nothing to compare)
  const auto curves_by_seed = [&](const std::string& variant) {
    std::map<int64_t, std::vector<std::pair<int64_t, double>>> out;
    for (const auto* run : runs_of(variant)) {
      if (!run->finished() || run->val_loss.empty()) continue;
      auto& curve = out[run->record.seed];
      for (const auto& p : run->val_loss) curve.emplace_back(p.step, p.value);
    }
    return out;
  };
  std::vector<decltype(curves_by_seed(""))> curves;
  for (const auto& variant : variants) curves.push_back(curves_by_seed(variant));
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t a = 0; a < variants.size(); ++a) {
    if (curves[a].empty()) continue;
    for (size_t b = a + 1; b < variants.size(); ++b) {
      if (curves[b] == curves[a]) pairs.emplace_back(variants[a], variants[b]);
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
  for (const auto& [a, b] : data.indistinguishable_variants()) {
    if (!listed(a) || !listed(b)) continue;
    notes.push_back(a + " and " + b +
                    " have identical validation losses at every eval of every seed: at this "
                    "experiment's settings they compute the same model (compare their attention "
                    "options with the sequence length), so the difference between them is not "
                    "measured.");
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
  for (const auto& record : store.runs(experiment)) {
    data.runs.push_back(load_run(store, record));
    if (!data.has_variant(record.variant)) data.variants.push_back(record.variant);
  }
  data.report_config = report_section(store, data.runs);
  data.bench_attention = store.bench_attention();
  data.bench_train = store.bench_train();
  return data;
}

}  // namespace attnlab::reports
