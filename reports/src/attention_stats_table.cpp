// The attention statistics table: what each arm's variant did (the attn/* metrics: kept key
// fraction, active heads, mean gate, attention entropy) next to its loss and speed, and for
// gate distillation runs (train.distill_gate) their final distillation loss and recall.
#include <nlohmann/json.hpp>

#include <set>

#include "attnlab/reports/tables.h"
#include "attnlab/train/metric_names.h"
#include "cells.h"

namespace attnlab::reports {

namespace {

// Every statistic some run logged, in name order.
std::vector<std::string> statistic_names(const ExperimentData& data) {
  std::set<std::string> names;
  for (const auto& run : data.runs) {
    for (const auto& entry : run.final_attention_stats) names.insert(entry.first);
  }
  return {names.begin(), names.end()};
}

// `pick` of each finished run of the arm that has it.
template <class Pick>
std::vector<double> over_runs(const ExperimentData& data, const std::string& arm, Pick pick) {
  std::vector<double> values;
  for (const auto* run : data.runs_of(arm)) {
    if (!run->finished()) continue;
    if (const std::optional<double> value = pick(*run)) values.push_back(*value);
  }
  return values;
}

// The columns of gate distillation runs: run_info key (the final train/distill_* value the
// trainer records), header.
const std::vector<std::pair<std::string, std::string>>& distill_columns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {metric::kInfoFinalDistillLoss, metric::kTrainDistillLoss},
      {metric::kInfoFinalDistillRecall, metric::kTrainDistillRecall}};
  return columns;
}

// The number run_info holds under `key`, if any.
std::optional<double> info_number(const RunData& run, const std::string& key) {
  const auto it = run.info.find(key);
  if (it == run.info.end()) return std::nullopt;
  const auto value = nlohmann::json::parse(it->second, nullptr, false);
  return value.is_number() ? std::optional(value.get<double>()) : std::nullopt;
}

// The distillation columns some run of the experiment has.
std::vector<std::pair<std::string, std::string>> present_distill_columns(const ExperimentData& data) {
  std::vector<std::pair<std::string, std::string>> present;
  for (const auto& column : distill_columns()) {
    for (const auto& run : data.runs) {
      if (info_number(run, column.first)) {
        present.push_back(column);
        break;
      }
    }
  }
  return present;
}

std::string mean_or_empty(const std::vector<double>& xs) {
  return xs.empty() ? "" : cells::raw(mean(xs));
}

}  // namespace

std::optional<Table> attention_stats_table(const ExperimentData& data) {
  const auto names = statistic_names(data);
  const auto distill = present_distill_columns(data);
  if (names.empty() && distill.empty()) return std::nullopt;
  Table table;
  table.id = "attention_stats";
  table.title = "What each variant did: attention statistics at the end of training";
  table.header = {"Arm", "Val loss", "Tokens/s"};
  table.data_header = {"arm", "val_loss_mean", "tokens_per_s_mean"};
  for (const auto& name : names) {
    table.header.push_back(name);
    table.data_header.push_back(name + "_mean");
  }
  for (const auto& [key, header] : distill) {
    table.header.push_back(header);
    table.data_header.push_back(key + "_mean");
  }
  for (const auto& arm : data.arm_names()) {
    const auto losses = data.final_val_losses(arm);
    const auto speeds = over_runs(data, arm, [](const RunData& r) { return r.mean_tokens_per_s; });
    std::vector<Cell> row = {{arm}, {cells::mean_std(losses, 4)}, {cells::mean_std(speeds, 0)}};
    std::vector<std::string> data_row = {arm, mean_or_empty(losses), mean_or_empty(speeds)};
    for (const auto& name : names) {
      const auto xs = over_runs(data, arm, [&](const RunData& r) -> std::optional<double> {
        const auto it = r.final_attention_stats.find(name);
        return it == r.final_attention_stats.end() ? std::nullopt : std::optional(it->second);
      });
      row.push_back({xs.empty() ? cells::kNone : cells::mean_std(xs, 3)});
      data_row.push_back(mean_or_empty(xs));
    }
    for (const auto& column : distill) {
      const auto xs = over_runs(data, arm, [&](const RunData& r) { return info_number(r, column.first); });
      row.push_back({xs.empty() ? cells::kNone : cells::mean_std(xs, 4)});
      data_row.push_back(mean_or_empty(xs));
    }
    table.rows.push_back(std::move(row));
    table.data_rows.push_back(std::move(data_row));
  }
  table.notes.push_back(
      std::string("Each statistic is the last ") + metric::kAttnPrefix +
      "<name> a finished run logged (the mean over layers; per layer in the store's evals of "
      "the same name), mean ± std over seeds; — where the arm's variant does not report it. "
      "kept_fraction: the share of causal (query, key) pairs attended; active_heads: the "
      "share of (token, head) pairs computed; mean_gate: the mean output gate; entropy: the "
      "mean entropy (nats) of softmax(q·kᵀ/√D) over every causal key on a sample of queries. "
      "Measured every train.log_every steps on the training batch of rank 0.");
  if (!distill.empty()) {
    table.notes.push_back(
        std::string("Gate distillation runs (train.distill_gate, docs/DISTILLATION.md): ") +
        metric::kTrainDistillLoss + " is the mean over layers of KL(teacher ‖ gate) between the "
        "dense attention's block map and the gate's, and " + metric::kTrainDistillRecall +
        " the share of the teacher's top blocks the gate keeps, both at the last step (mean over "
        "ranks), mean ± std over seeds; — for arms that do not distil.");
  }
  return table;
}

}  // namespace attnlab::reports
