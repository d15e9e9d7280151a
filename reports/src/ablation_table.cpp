// The ablation table (the seed paper's Table 1 layout): rows declared in the experiment config
// as report.ablation_rows = [{label, variant}, ...] (or {label, arm}), each naming an arm, Δ
// against the first row (the full model).
#include "attnlab/reports/arms.h"
#include "attnlab/reports/tables.h"
#include "cells.h"

namespace attnlab::reports {

namespace {

struct AblationRow {
  std::string label, arm;
};

// The row's arm reference: its `variant` or `arm` key (one of the two, a string).
std::string arm_key(const nlohmann::json& row) {
  const bool variant = row.contains("variant"), arm = row.contains("arm");
  if (variant == arm) return "";
  const char* key = variant ? "variant" : "arm";
  return row[key].is_string() ? key : "";
}

std::vector<AblationRow> parse_rows(const ExperimentData& data, const nlohmann::json& rows) {
  const std::string where = "report.ablation_rows";
  if (!rows.is_array() || rows.empty()) {
    throw ReportError("experiment '" + data.name + "': " + where +
                      " must be a non-empty list of {label, variant}, got " + rows.dump());
  }
  std::vector<AblationRow> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const std::string entry = where + "[" + std::to_string(i) + "]";
    const std::string key = row.is_object() ? arm_key(row) : "";
    if (key.empty() || !row.contains("label") || !row["label"].is_string()) {
      throw ReportError("experiment '" + data.name + "': " + entry +
                        " needs string keys 'label' and 'variant' (or 'arm' instead of "
                        "'variant'), got " +
                        row.dump());
    }
    const std::string reference = row[key].get<std::string>();
    out.push_back(
        {row["label"].get<std::string>(), resolve_arm(data, reference, entry + "." + key).name});
  }
  return out;
}

}  // namespace

std::string ablation_unavailable(const ExperimentData& data) {
  const auto& rows = data.report_config.is_object() ? data.report_config.value("ablation_rows", nlohmann::json())
                                                    : nlohmann::json();
  std::string missing;
  for (const auto& row : rows.is_array() ? rows : nlohmann::json::array()) {
    const std::string key = row.is_object() ? arm_key(row) : "";
    if (key.empty() || refers_to_arm(data, row[key].get<std::string>())) continue;
    missing += (missing.empty() ? "'" : ", '") + row[key].get<std::string>() + "'";
  }
  if (missing.empty()) return "";
  return "No ablation table: report.ablation_rows names " + missing +
         ", which this experiment has no runs of (e.g. from a shared report group); its arms: " +
         arm_list(data) + ". Set report.ablation_rows in the experiment to arms it has.";
}

std::optional<Table> ablation_table(const ExperimentData& data) {
  if (!data.report_config.is_object() || !data.report_config.contains("ablation_rows")) {
    return std::nullopt;
  }
  const auto rows = parse_rows(data, data.report_config["ablation_rows"]);
  const auto& full = rows.front();
  const auto reference = data.final_val_losses(full.arm);

  Table table;
  table.id = "ablation";
  table.title = "Ablation: contribution of each component";
  table.header = {
      "Configuration", "Arm", "n", "Val loss (mean ± std)", "Δ vs " + full.label + " [95% CI]",
      "p (Welch)"};
  table.data_header = {"label", "arm", "n", "val_loss_mean", "val_loss_std"};
  table.data_header.insert(table.data_header.end(), cells::kComparisonHeader.begin(),
                           cells::kComparisonHeader.end());
  std::vector<std::optional<double>> means;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto losses = data.final_val_losses(rows[i].arm);
    cells::Comparison c;
    if (i == 0) {
      c.delta.text = "reference";
      c.p.text = cells::kNone;
      c.data.assign(cells::kComparisonHeader.size(), "");
    } else {
      c = cells::compare(losses, reference);
    }
    const std::string loss_text =
        losses.empty()
            ? "no finished runs (" + cells::status_summary(data.runs_of(rows[i].arm)) + ")"
            : cells::mean_std(losses, 4);
    table.rows.push_back({{rows[i].label},
                          {rows[i].arm},
                          {std::to_string(losses.size())},
                          {loss_text},
                          c.delta,
                          c.p});
    std::vector<std::string> row = {
        rows[i].label, rows[i].arm, std::to_string(losses.size()),
        cells::raw(losses.empty() ? std::nullopt : std::optional(mean(losses))),
        cells::raw(sample_std(losses))};
    row.insert(row.end(), c.data.begin(), c.data.end());
    table.data_rows.push_back(row);
    means.push_back(losses.empty() ? std::nullopt : std::optional(mean(losses)));
  }
  cells::bold_best(table, 3, means, /*lower_is_better=*/true);
  table.notes.push_back("Rows from the experiment's report.ablation_rows. Δ = mean(row) − mean(" +
                        full.label + "), 95% Welch CI; p ≥ 0.05 marked not significant.");
  std::vector<std::string> row_arms;
  for (const auto& row : rows) row_arms.push_back(row.arm);
  for (auto& note : indistinguishable_notes(data, row_arms)) {
    table.notes.push_back(std::move(note));
  }
  return table;
}

}  // namespace attnlab::reports
