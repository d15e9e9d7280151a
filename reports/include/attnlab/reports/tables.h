// The report's tables, built from ExperimentData. Every statistic uses the finished runs that
// logged a val/loss; runs in any other state are still counted and shown (never dropped).
#pragma once
#include <optional>
#include <string>

#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/table.h"

namespace attnlab::reports {

// The variant every Δ is taken against: `requested` when given (a ReportError when the
// experiment has no such variant), else the config's report.baseline, else "dense".
std::string resolve_baseline(const ExperimentData& data, const std::string& requested);

// Every run: variant, seed, status, steps, tokens, final val loss, code version, message.
Table runs_table(const ExperimentData& data);

// Variant × (val loss mean ± std, n, Δ vs baseline with 95% CI, Welch p-value).
Table main_table(const ExperimentData& data, const std::string& baseline);

// The ablation table whose rows the config declares in report.ablation_rows
// ([{label, variant}, ...]; Δ against the first row). nullopt when the key is absent;
// a malformed list is a ReportError naming the entry.
std::optional<Table> ablation_table(const ExperimentData& data);

// Peak memory, tokens/s, step time, parameters, FLOPs per token, and the steps and tokens
// needed to reach the baseline's final val loss.
Table efficiency_table(const ExperimentData& data, const std::string& baseline);

// The step where a val/loss curve first reaches `target`, interpolated linearly between the
// two evals around the crossing; nullopt when it never does.
std::optional<double> steps_to_reach(const std::vector<CurvePoint>& val_loss, double target);
// The value of an increasing curve (train/tokens) at a fractional step, interpolated linearly.
std::optional<double> value_at_step(const std::vector<CurvePoint>& curve, double step);

}  // namespace attnlab::reports
