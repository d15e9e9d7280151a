// The main results table: one row per arm, val loss over seeds and Δ vs the baseline arm.
#include <algorithm>

#include "attnlab/reports/arms.h"
#include "attnlab/reports/tables.h"
#include "attnlab/train/metric_names.h"
#include "cells.h"

namespace attnlab::reports {

std::vector<std::string> arms_baseline_first(const ExperimentData& data,
                                             const std::string& baseline) {
  std::vector<std::string> order = data.arm_names();
  auto it = std::find(order.begin(), order.end(), baseline);
  if (it != order.end()) std::rotate(order.begin(), it, it + 1);
  return order;
}

std::string resolve_baseline(const ExperimentData& data, const std::string& requested) {
  if (!requested.empty()) return resolve_arm(data, requested, "--baseline").name;
  const auto& configured = data.report_config.is_object() && data.report_config.contains("baseline")
                               ? data.report_config["baseline"]
                               : nlohmann::json();
  if (configured.is_string()) {
    // A baseline the experiment does not have (e.g. from a shared report group): no Δ, and the
    // main table's note says so and how to pick one.
    const auto reference = configured.get<std::string>();
    if (!refers_to_arm(data, reference)) return reference;
    return resolve_arm(data, reference, "report.baseline").name;
  }
  if (!configured.is_null()) {
    throw ReportError("experiment '" + data.name +
                      "': report.baseline must be an arm or plugin name (a string), got " +
                      configured.dump());
  }
  if (!data.has_plugin("dense")) return "dense";  // no Δ; the main table's note says what to do
  return resolve_arm(data, "dense", "the default baseline (no --baseline or report.baseline)").name;
}

Table main_table(const ExperimentData& data, const std::string& baseline) {
  Table table;
  table.id = "main";
  table.title = "Main results: final validation loss over seeds";
  table.header = {
      "Arm", "Runs", "n", "Val loss (mean ± std)", "Δ vs " + baseline + " [95% CI]", "p (Welch)"};
  table.data_header = {"arm", "runs", "n", "val_loss_mean", "val_loss_std"};
  table.data_header.insert(table.data_header.end(), cells::kComparisonHeader.begin(),
                           cells::kComparisonHeader.end());

  const auto reference = data.final_val_losses(baseline);
  std::vector<std::optional<double>> means;
  for (const auto& arm : arms_baseline_first(data, baseline)) {
    const auto losses = data.final_val_losses(arm);
    const auto runs = data.runs_of(arm);
    const cells::Comparison c = cells::compare_with(arm, baseline, losses, reference);
    table.rows.push_back({{arm},
                          {cells::status_summary(runs)},
                          {std::to_string(losses.size())},
                          {cells::mean_std(losses, 4)},
                          c.delta,
                          c.p});
    std::vector<std::string> row = {arm, cells::status_summary(runs),
                                    std::to_string(losses.size())};
    for (auto& field : cells::raw_mean_std(losses)) row.push_back(std::move(field));
    row.insert(row.end(), c.data.begin(), c.data.end());
    table.data_rows.push_back(row);
    means.push_back(losses.empty() ? std::nullopt : std::optional(mean(losses)));
  }
  cells::bold_best(table, 3, means, /*lower_is_better=*/true);

  table.notes.push_back(
      std::string("Val loss: the last ") + metric::kValLoss +
      " of each finished run; mean ± sample std over the seeds of each arm. Δ = mean(arm) − "
      "mean(" +
      baseline +
      ") with a 95% Welch confidence interval; "
      "p: two-sided Welch's t-test, p ≥ 0.05 marked not significant. "
      "Runs not finished are counted under Runs and left out of n.");
  for (auto& note : indistinguishable_notes(data)) table.notes.push_back(std::move(note));
  if (reference.empty()) {
    table.notes.push_back("The baseline '" + baseline +
                          "' is not an arm of this experiment or has no finished run with a "
                          "val/loss, so there is no Δ; pass --baseline ARM (arms: " +
                          arm_list(data) + ").");
  }
  for (const auto& run : data.runs) {
    if (run.finished() && !run.final_val_loss) {
      table.notes.push_back("Run " + run.record.name + " (" + run.arm +
                            ") finished without a finite final val/loss; it is left out of n.");
    }
  }
  return table;
}

}  // namespace attnlab::reports
