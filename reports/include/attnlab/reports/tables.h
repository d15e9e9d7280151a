// The report's tables, built from ExperimentData. One row per arm (arms.h); every statistic
// uses the arm's finished runs that logged a val/loss; runs in any other state are still
// counted and shown (never dropped).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/table.h"

namespace attnlab::reports {

// The name of the arm every Δ is taken against: `requested` (--baseline) when given, else the
// config's report.baseline, else the plugin "dense"; each resolved by resolve_arm (an arm name,
// or a plugin with one arm; otherwise a ReportError listing the arms). "dense" when the
// experiment has no dense arm and nothing else is asked for (the tables then have no Δ).
std::string resolve_baseline(const ExperimentData& data, const std::string& requested);

// The arm names in arm order with the baseline moved first (when it is an arm).
std::vector<std::string> arms_baseline_first(const ExperimentData& data,
                                             const std::string& baseline);

// Every run: arm, plugin, seed, status, steps, tokens, final val loss, code version, message.
Table runs_table(const ExperimentData& data);

// Arm × (val loss mean ± std, n, Δ vs baseline with 95% CI, Welch p-value).
Table main_table(const ExperimentData& data, const std::string& baseline);

// The ablation table whose rows the config declares in report.ablation_rows
// ([{label, variant}, ...], `arm:` a synonym of `variant:`, each naming an arm as resolve_arm
// does; Δ against the first row). nullopt when the key is absent; a malformed list or a row
// naming no arm (or several) is a ReportError naming the entry.
std::optional<Table> ablation_table(const ExperimentData& data);

// Why the ablation table cannot be made for this experiment ("" when it can or is not asked
// for): rows naming arms or plugins the experiment has no runs of, listed with its arms.
std::string ablation_unavailable(const ExperimentData& data);

// Per arm: peak memory, tokens/s, MFU, step time, parameters, FLOPs per token, the steps
// and tokens needed to reach the baseline's final val loss, and from eval/generation (when some
// run has it) the KV-cache bytes per token, the peak cache bytes and generation tokens/s.
Table efficiency_table(const ExperimentData& data, const std::string& baseline);

// Per arm: final val loss and tokens/s next to the last value of every attention statistic the
// runs logged (attn/<name>: kept fraction, active heads, mean gate, entropy, ...), mean ± std
// over the finished runs. nullopt when no run logged any.
std::optional<Table> attention_stats_table(const ExperimentData& data);

// isoFLOP runs (train.flop_budget; isoflop.h): per budget and variant, the sizes measured, the
// best measured and the fitted compute-optimal size and loss, the loss difference against the
// reference variant at the same budget (dense when present) and the FLOPs the runs used
// against the budget. nullopt when no finished run has a budget.
std::optional<Table> isoflop_table(const ExperimentData& data);

// The Evaluation section's tables (eval_data.h), one per eval that some finished run logged;
// rows: the arms that have it, baseline first; every number the mean ± sample std over the
// arm's finished runs (their last row of the eval):
//   eval_val_loss       held-out loss and perplexity, each with Δ vs the baseline (95% Welch
//                       CI) and Welch's p, as the main table
//   eval_position_loss  loss at the first, middle and last position bucket, Δ at the last
//   eval_mqar           MQAR accuracy per gap and overall
//   eval_passkey        passkey accuracy, one row per (arm, context length), columns depths
// Empty when no finished run has any eval; a table's notes name the arms it leaves out.
std::vector<Table> evaluation_tables(const ExperimentData& data, const std::string& baseline);

// One sentence naming the arms none of whose finished runs has any eval/* row, their runs and
// the command that adds them; empty when there are none.
std::vector<std::string> evaluation_gaps(const ExperimentData& data);

// The step where a val/loss curve first reaches `target`, interpolated linearly between the
// two evals around the crossing; nullopt when it never does.
std::optional<double> steps_to_reach(const std::vector<CurvePoint>& val_loss, double target);
// The value of an increasing curve (train/tokens) at a fractional step, interpolated linearly.
std::optional<double> value_at_step(const std::vector<CurvePoint>& curve, double step);

}  // namespace attnlab::reports
