// The Evaluation section's tables (see tables.h): held-out loss and perplexity, loss at a few
// position buckets, MQAR accuracy per gap, passkey accuracy per length and depth; each over the
// seeds of every arm that has the eval, with the statistics of the main table (cells.h).
#include <algorithm>

#include "attnlab/reports/tables.h"
#include "cells.h"
#include "eval_samples.h"

namespace attnlab::reports {

namespace {

bool has_val_loss(const RunEvals& e) { return e.val_loss.has_value(); }
bool has_position_loss(const RunEvals& e) { return e.position_loss.has_value(); }
bool has_mqar(const RunEvals& e) { return e.mqar.has_value(); }
bool has_passkey(const RunEvals& e) { return e.passkey.has_value(); }

// The number of the arm's finished runs that have the eval.
size_t evaluated(const ExperimentData& data, const std::string& arm, bool (*has)(const RunEvals&)) {
  size_t n = 0;
  for (const auto* run : data.runs_of(arm)) n += run->finished() && has(run->evals);
  return n;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool has_any(const RunEvals& e) { return e.any(); }

// The note of the arms a table leaves out for want of the eval, among the evaluated arms (the
// section's first note names the arms with no evaluation at all).
void note_missing(Table& table, const ExperimentData& data, const char* eval,
                  bool (*has)(const RunEvals&)) {
  const auto unevaluated = arms_without(data, has_any);
  std::vector<std::string> missing;
  for (const auto& arm : arms_without(data, has)) {
    if (std::find(unevaluated.begin(), unevaluated.end(), arm) == unevaluated.end()) {
      missing.push_back(arm);
    }
  }
  if (missing.empty()) return;
  table.notes.push_back("No " + std::string(eval) + " for " + joined(missing) +
                        " (no finished run has it): `attnlab eval RUN` adds it.");
}

template <class T>
struct Of {
  using type = std::vector<T>;
};

// Appends `fields` to `row` (T is deduced from `row` alone, so `fields` may be a braced list).
template <class T>
void append(std::vector<T>& row, const typename Of<T>::type& fields) {
  row.insert(row.end(), fields.begin(), fields.end());
}

std::string bucket_text(const Bucket& b) {
  return "[" + std::to_string(b.first) + ", " + std::to_string(b.second) + ")";
}

std::string bucket_key(const Bucket& b) {
  return std::to_string(b.first) + "_" + std::to_string(b.second);
}

std::optional<double> mean_or_none(const Samples& xs) {
  return xs.empty() ? std::nullopt : std::optional(mean(xs));
}

std::optional<Table> val_loss_table(const ExperimentData& data, const std::string& baseline) {
  const auto arms = arms_with(data, baseline, has_val_loss);
  if (arms.empty()) return std::nullopt;
  Table table;
  table.id = "eval_val_loss";
  table.title = "Held-out loss and perplexity (eval/val_loss)";
  table.header = {"Arm",
                  "n",
                  "Loss (mean ± std)",
                  "Δ loss vs " + baseline + " [95% CI]",
                  "p (Welch)",
                  "Perplexity (mean ± std)",
                  "Δ perplexity vs " + baseline + " [95% CI]",
                  "p (Welch)"};
  table.data_header = {"arm", "n", "loss_mean", "loss_std"};
  append(table.data_header, cells::comparison_header("loss_"));
  append(table.data_header, {"perplexity_mean", "perplexity_std"});
  append(table.data_header, cells::comparison_header("perplexity_"));
  append(table.data_header, {"tokens_mean"});
  const auto ref_loss = val_loss_samples(data, baseline, &ValLossEval::loss);
  const auto ref_ppl = val_loss_samples(data, baseline, &ValLossEval::perplexity);
  std::vector<std::optional<double>> loss_means, ppl_means;
  for (const auto& arm : arms) {
    const auto loss = val_loss_samples(data, arm, &ValLossEval::loss);
    const auto ppl = val_loss_samples(data, arm, &ValLossEval::perplexity);
    Samples tokens;
    for (const auto* run : data.runs_of(arm)) {
      if (run->finished() && run->evals.val_loss) {
        tokens.push_back(static_cast<double>(run->evals.val_loss->tokens));
      }
    }
    const auto dl = cells::compare_with(arm, baseline, loss, ref_loss);
    const auto dp = cells::compare_with(arm, baseline, ppl, ref_ppl);
    const std::string n = std::to_string(evaluated(data, arm, has_val_loss));
    table.rows.push_back({{arm},
                          {n},
                          {cells::mean_std(loss, 4)},
                          dl.delta,
                          dl.p,
                          {cells::mean_std(ppl, 3)},
                          dp.delta,
                          dp.p});
    std::vector<std::string> row = {arm, n};
    append(row, cells::raw_mean_std(loss));
    append(row, dl.data);
    append(row, cells::raw_mean_std(ppl));
    append(row, dp.data);
    append(row, {cells::raw(mean_or_none(tokens))});
    table.data_rows.push_back(std::move(row));
    loss_means.push_back(mean_or_none(loss));
    ppl_means.push_back(mean_or_none(ppl));
  }
  cells::bold_best(table, 2, loss_means, true);
  cells::bold_best(table, 5, ppl_means, true);
  table.notes.push_back(
      "The loss (nats per token) and perplexity of `attnlab eval` on the held-out shards: each "
      "finished run's last eval/val_loss, mean ± sample std over the arm's seeds; Δ = mean(arm) "
      "− mean(" +
      baseline +
      ") with a 95% Welch confidence interval and a two-sided Welch's "
      "t-test p-value, as in the main table.");
  note_missing(table, data, kEvalValLoss, has_val_loss);
  return table;
}

// The first, middle and last of the buckets (fewer when there are fewer).
std::vector<Bucket> shown_buckets(const std::vector<Bucket>& all) {
  std::vector<Bucket> out;
  for (const size_t i : {size_t{0}, (all.size() - 1) / 2, all.size() - 1}) {
    if (std::find(out.begin(), out.end(), all[i]) == out.end()) out.push_back(all[i]);
  }
  return out;
}

std::optional<Table> position_loss_table(const ExperimentData& data, const std::string& baseline) {
  const auto arms = arms_with(data, baseline, has_position_loss);
  std::vector<std::map<Bucket, Samples>> per_arm;
  for (const auto& arm : arms) per_arm.push_back(position_loss_samples(data, arm));
  const auto all = merged_keys(per_arm);
  if (all.empty()) return std::nullopt;
  const auto buckets = shown_buckets(all);
  const Bucket& last = buckets.back();
  Table table;
  table.id = "eval_position_loss";
  table.title = "Loss by input position (eval/position_loss)";
  table.header = {"Arm", "n"};
  table.data_header = {"arm", "n"};
  for (const auto& b : buckets) {
    table.header.push_back("Loss at " + bucket_text(b));
    append(table.data_header, std::vector<std::string>{"loss_" + bucket_key(b) + "_mean",
                                                       "loss_" + bucket_key(b) + "_std"});
  }
  append(table.header,
         {"Δ at " + bucket_text(last) + " vs " + baseline + " [95% CI]", "p (Welch)"});
  append(table.data_header, cells::comparison_header("last_bucket_"));
  const auto baseline_at = std::find(arms.begin(), arms.end(), baseline);
  const Samples reference =
      baseline_at == arms.end() ? Samples{} : per_arm[baseline_at - arms.begin()][last];
  std::vector<std::vector<std::optional<double>>> means(buckets.size());
  for (size_t a = 0; a < arms.size(); ++a) {
    auto& samples = per_arm[a];
    const std::string n = std::to_string(evaluated(data, arms[a], has_position_loss));
    std::vector<Cell> row = {{arms[a]}, {n}};
    std::vector<std::string> data_row = {arms[a], n};
    for (size_t i = 0; i < buckets.size(); ++i) {
      const Samples& xs = samples[buckets[i]];
      row.push_back({cells::mean_std(xs, 4)});
      append(data_row, cells::raw_mean_std(xs));
      means[i].push_back(mean_or_none(xs));
    }
    const auto c = cells::compare_with(arms[a], baseline, samples[last], reference);
    append(row, {c.delta, c.p});
    append(data_row, c.data);
    table.rows.push_back(std::move(row));
    table.data_rows.push_back(std::move(data_row));
  }
  for (size_t i = 0; i < buckets.size(); ++i) cells::bold_best(table, 2 + i, means[i], true);
  table.notes.push_back(
      "The mean loss of the predictions made at input positions [start, end) of the held-out "
      "sequences, at the first, middle and last of the " +
      std::to_string(all.size()) +
      " buckets (all of them in the position_loss figure); mean ± sample std over seeds. Δ at "
      "the last bucket: the long-range cost of the arm against " +
      baseline + " (95% Welch CI, two-sided Welch's t-test).");
  note_missing(table, data, kEvalPositionLoss, has_position_loss);
  return table;
}

std::optional<Table> mqar_table(const ExperimentData& data, const std::string& baseline) {
  const auto arms = arms_with(data, baseline, has_mqar);
  std::vector<std::map<int64_t, Samples>> per_arm;
  for (const auto& arm : arms) per_arm.push_back(mqar_samples(data, arm));
  const auto gaps = merged_keys(per_arm);
  if (arms.empty()) return std::nullopt;
  Table table;
  table.id = "eval_mqar";
  table.title = "MQAR accuracy against gap (eval/mqar)";
  table.header = {"Arm", "n"};
  table.data_header = {"arm", "n"};
  for (const int64_t gap : gaps) {
    table.header.push_back("gap " + std::to_string(gap));
    append(table.data_header, {"accuracy_gap_" + std::to_string(gap) + "_mean",
                               "accuracy_gap_" + std::to_string(gap) + "_std"});
  }
  table.header.push_back("Overall");
  append(table.data_header, {"overall_mean", "overall_std"});
  std::vector<std::vector<std::optional<double>>> means(gaps.size() + 1);
  for (size_t a = 0; a < arms.size(); ++a) {
    const std::string n = std::to_string(evaluated(data, arms[a], has_mqar));
    std::vector<Cell> row = {{arms[a]}, {n}};
    std::vector<std::string> data_row = {arms[a], n};
    for (size_t g = 0; g <= gaps.size(); ++g) {
      const Samples xs =
          g < gaps.size() ? per_arm[a][gaps[g]] : mqar_overall_samples(data, arms[a]);
      row.push_back({cells::mean_std(xs, 3)});
      append(data_row, cells::raw_mean_std(xs));
      means[g].push_back(mean_or_none(xs));
    }
    table.rows.push_back(std::move(row));
    table.data_rows.push_back(std::move(data_row));
  }
  for (size_t g = 0; g < means.size(); ++g) cells::bold_best(table, 2 + g, means[g], false);
  table.notes.push_back(
      "Multi-query associative recall: the share of queries answered with the value bound to "
      "their key, per gap (tokens between the key–value pair and its query) and overall; mean ± "
      "sample std over seeds, the highest mean of each column in bold.");
  note_missing(table, data, kEvalMqar, has_mqar);
  return table;
}

std::optional<Table> passkey_table(const ExperimentData& data, const std::string& baseline) {
  const auto arms = arms_with(data, baseline, has_passkey);
  std::vector<std::map<PasskeyCell, Samples>> per_arm;
  for (const auto& arm : arms) per_arm.push_back(passkey_samples(data, arm));
  const auto cells_measured = merged_keys(per_arm);
  if (cells_measured.empty()) return std::nullopt;
  std::vector<int64_t> lengths;
  std::vector<double> depths;
  for (const auto& [length, depth] : cells_measured) {
    if (std::find(lengths.begin(), lengths.end(), length) == lengths.end())
      lengths.push_back(length);
    if (std::find(depths.begin(), depths.end(), depth) == depths.end()) depths.push_back(depth);
  }
  std::sort(depths.begin(), depths.end());
  Table table;
  table.id = "eval_passkey";
  table.title = "Passkey retrieval accuracy by context length and depth (eval/passkey)";
  table.header = {"Arm", "Length", "n"};
  table.data_header = {"arm", "length", "n"};
  for (const double depth : depths) {
    table.header.push_back("depth " + cells::general(depth));
    append(table.data_header, {"accuracy_depth_" + cells::general(depth) + "_mean",
                               "accuracy_depth_" + cells::general(depth) + "_std"});
  }
  for (size_t a = 0; a < arms.size(); ++a) {
    const std::string n = std::to_string(evaluated(data, arms[a], has_passkey));
    for (const int64_t length : lengths) {
      std::vector<Cell> row = {{arms[a]}, {std::to_string(length)}, {n}};
      std::vector<std::string> data_row = {arms[a], std::to_string(length), n};
      for (const double depth : depths) {
        const Samples& xs = per_arm[a][{length, depth}];
        row.push_back({cells::mean_std(xs, 3)});
        append(data_row, cells::raw_mean_std(xs));
      }
      table.rows.push_back(std::move(row));
      table.data_rows.push_back(std::move(data_row));
    }
  }
  table.notes.push_back(
      "The share of trials whose passkey, hidden at the given depth (0: start of the context, 1: "
      "end) in filler text of the given length, was retrieved; mean ± sample std over seeds. "
      "The passkey heatmaps draw the means.");
  note_missing(table, data, kEvalPasskey, has_passkey);
  return table;
}

}  // namespace

std::vector<Table> evaluation_tables(const ExperimentData& data, const std::string& baseline) {
  std::vector<Table> out;
  for (auto build : {val_loss_table, position_loss_table, mqar_table, passkey_table}) {
    if (auto table = build(data, baseline)) out.push_back(std::move(*table));
  }
  return out;
}

std::vector<std::string> evaluation_gaps(const ExperimentData& data) {
  std::vector<std::string> arms, runs;
  for (const auto& arm : data.arm_names()) {
    bool any = false;
    std::vector<std::string> arm_runs;
    for (const auto* run : data.runs_of(arm)) {
      if (!run->finished()) continue;
      any = any || run->evals.any();
      arm_runs.push_back(run->record.name);
    }
    if (any || arm_runs.empty()) continue;
    arms.push_back(arm);
    runs.insert(runs.end(), arm_runs.begin(), arm_runs.end());
  }
  if (arms.empty()) return {};
  return {"No evaluation for " + joined(arms) + ": no eval/* rows in the finished runs " +
          joined(runs) +
          ". `attnlab eval RUN` on each of these runs adds them (held-out and "
          "per-position loss, MQAR, passkey, generation), then rerun `attnlab report`."};
}

}  // namespace attnlab::reports
