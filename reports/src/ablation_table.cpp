// The ablation table (the seed paper's Table 1 layout): rows declared in the experiment config
// as report.ablation_rows = [{label, variant}, ...], Δ against the first row (the full model).
#include "attnlab/reports/tables.h"
#include "cells.h"

namespace attnlab::reports {

namespace {

struct AblationRow {
  std::string label, variant;
};

std::vector<AblationRow> parse_rows(const ExperimentData& data, const nlohmann::json& rows) {
  const std::string where = "experiment '" + data.name + "': report.ablation_rows";
  if (!rows.is_array() || rows.empty()) {
    throw ReportError(where + " must be a non-empty list of {label, variant}, got " + rows.dump());
  }
  std::vector<AblationRow> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    if (!row.is_object() || !row.contains("label") || !row.contains("variant") ||
        !row["label"].is_string() || !row["variant"].is_string()) {
      throw ReportError(where + "[" + std::to_string(i) +
                        "] needs string keys 'label' and 'variant', got " + row.dump());
    }
    out.push_back({row["label"].get<std::string>(), row["variant"].get<std::string>()});
  }
  return out;
}

}  // namespace

std::optional<Table> ablation_table(const ExperimentData& data) {
  if (!data.report_config.is_object() || !data.report_config.contains("ablation_rows")) {
    return std::nullopt;
  }
  const auto rows = parse_rows(data, data.report_config["ablation_rows"]);
  const auto& full = rows.front();
  const auto reference = data.final_val_losses(full.variant);

  Table table;
  table.id = "ablation";
  table.title = "Ablation: contribution of each component";
  table.header = {
      "Configuration", "Variant", "n", "Val loss (mean ± std)", "Δ vs " + full.label + " [95% CI]",
      "p (Welch)"};
  table.data_header = {"label", "variant", "n", "val_loss_mean", "val_loss_std"};
  table.data_header.insert(table.data_header.end(), cells::kComparisonHeader.begin(),
                           cells::kComparisonHeader.end());
  std::vector<std::optional<double>> means;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto losses = data.final_val_losses(rows[i].variant);
    cells::Comparison c;
    if (i == 0) {
      c.delta.text = "reference";
      c.p.text = cells::kNone;
      c.data.assign(cells::kComparisonHeader.size(), "");
    } else {
      c = cells::compare(losses, reference);
    }
    std::string loss_text = cells::mean_std(losses, 4);
    if (losses.empty()) {
      loss_text =
          data.has_variant(rows[i].variant)
              ? "no finished runs (" + cells::status_summary(data.runs_of(rows[i].variant)) + ")"
              : "no runs of this variant";
    }
    table.rows.push_back({{rows[i].label},
                          {rows[i].variant},
                          {std::to_string(losses.size())},
                          {loss_text},
                          c.delta,
                          c.p});
    std::vector<std::string> row = {
        rows[i].label, rows[i].variant, std::to_string(losses.size()),
        cells::raw(losses.empty() ? std::nullopt : std::optional(mean(losses))),
        cells::raw(sample_std(losses))};
    row.insert(row.end(), c.data.begin(), c.data.end());
    table.data_rows.push_back(row);
    means.push_back(losses.empty() ? std::nullopt : std::optional(mean(losses)));
  }
  cells::bold_best(table, 3, means, /*lower_is_better=*/true);
  table.notes.push_back("Rows from the experiment's report.ablation_rows. Δ = mean(row) − mean(" +
                        full.label + "), 95% Welch CI; p ≥ 0.05 marked not significant.");
  std::vector<std::string> row_variants;
  for (const auto& row : rows) row_variants.push_back(row.variant);
  for (auto& note : indistinguishable_notes(data, row_variants)) {
    table.notes.push_back(std::move(note));
  }
  return table;
}

}  // namespace attnlab::reports
