// The training-efficiency table: memory, throughput, MFU, step time, size, compute, how fast
// each arm reaches the baseline's final val loss (in steps and tokens, and as a ratio), and the
// generation measurements of `attnlab eval` (eval/generation: KV cache per token, peak cache,
// tokens/s).
#include <algorithm>
#include <cmath>

#include "attnlab/reports/tables.h"
#include "attnlab/train/metric_names.h"
#include "cells.h"
#include "eval_samples.h"

namespace attnlab::reports {

std::optional<double> steps_to_reach(const std::vector<CurvePoint>& val_loss, double target) {
  for (size_t i = 0; i < val_loss.size(); ++i) {
    if (!(val_loss[i].value <= target)) continue;  // above, or NaN after divergence
    if (i == 0) return static_cast<double>(val_loss[0].step);
    const auto& a = val_loss[i - 1];
    if (!std::isfinite(a.value)) return static_cast<double>(val_loss[i].step);
    const auto& b = val_loss[i];
    const double fraction = (a.value - target) / (a.value - b.value);
    return a.step + fraction * static_cast<double>(b.step - a.step);
  }
  return std::nullopt;
}

std::optional<double> value_at_step(const std::vector<CurvePoint>& curve, double step) {
  if (curve.empty() || step < curve.front().step || step > curve.back().step) return std::nullopt;
  auto upper = std::lower_bound(curve.begin(), curve.end(), step,
                                [](const CurvePoint& p, double s) { return p.step < s; });
  if (upper->step == step || upper == curve.begin()) return upper->value;
  const auto& a = *(upper - 1);
  const auto& b = *upper;
  return a.value + (step - a.step) / static_cast<double>(b.step - a.step) * (b.value - a.value);
}

namespace {

std::optional<double> mean_of(const std::vector<double>& xs) {
  if (xs.empty()) return std::nullopt;
  return mean(xs);
}

// The values `get` yields for the runs that have one.
template <class Get>
std::vector<double> collect(const std::vector<const RunData*>& runs, Get get) {
  std::vector<double> out;
  for (const auto* run : runs) {
    if (std::optional<double> v = get(*run)) out.push_back(*v);
  }
  return out;
}

std::string text_or_none(const std::optional<double>& v, std::string (*format)(double)) {
  return v ? format(*v) : cells::kNone;
}

std::string ratio_text(double ratio) {
  const double percent = std::round(std::fabs(1.0 - ratio) * 100.0);
  if (percent == 0) return cells::fixed(ratio, 2) + "× (same)";
  return cells::fixed(ratio, 2) + "× (" + cells::fixed(percent, 0) + "% " +
         (ratio < 1 ? "faster" : "slower") + ")";
}

// An arm's peak memory: the GPU allocator's peak (and what it reserved) for GPU runs, else the
// host's RSS high-water mark. `value` is what the best-in-column mark compares.
struct MemoryCell {
  std::string text;
  std::optional<double> value, host_rss, gpu_allocated, gpu_reserved;
};

MemoryCell memory_cell(const std::vector<const RunData*>& runs) {
  MemoryCell cell;
  cell.host_rss = mean_of(collect(runs, [](const RunData& r) { return r.peak_memory_bytes; }));
  cell.gpu_allocated =
      mean_of(collect(runs, [](const RunData& r) { return r.peak_gpu_allocated_bytes; }));
  cell.gpu_reserved =
      mean_of(collect(runs, [](const RunData& r) { return r.peak_gpu_reserved_bytes; }));
  if (cell.gpu_allocated) {
    cell.value = cell.gpu_allocated;
    cell.text = cells::bytes(*cell.gpu_allocated) + " GPU";
    if (cell.gpu_reserved) cell.text += " (" + cells::bytes(*cell.gpu_reserved) + " reserved)";
    return cell;
  }
  cell.value = cell.host_rss;
  cell.text = text_or_none(cell.value, cells::bytes);
  return cell;
}

bool has_generation(const RunEvals& e) { return e.generation.has_value(); }

// An arm's eval/generation columns: display cells and CSV fields.
struct GenerationCells {
  std::vector<Cell> display;
  std::vector<std::string> data;
  std::optional<double> tokens_per_s, bytes_per_token, peak_bytes;
};

const std::vector<std::string> kGenerationHeader = {"KV cache / token", "Peak KV cache",
                                                    "Generation tokens/s (mean ± std)"};
const std::vector<std::string> kGenerationDataHeader = {
    "kv_cache_bytes_per_token", "kv_cache_peak_bytes", "generation_tokens_per_s_mean",
    "generation_tokens_per_s_std", "generation_rolling_cache"};

GenerationCells generation_cells(const ExperimentData& data, const std::string& arm) {
  GenerationCells g;
  const auto tps = generation_samples(data, arm, &GenerationEval::tokens_per_s);
  g.tokens_per_s = mean_of(tps);
  g.bytes_per_token =
      mean_of(generation_samples(data, arm, &GenerationEval::cache_bytes_per_token));
  g.peak_bytes = mean_of(generation_samples(data, arm, &GenerationEval::cache_peak_bytes));
  size_t rolling = 0, measured = 0;
  for (const auto* run : data.runs_of(arm)) {
    if (!run->finished() || !run->evals.generation) continue;
    ++measured;
    rolling += run->evals.generation->rolling;
  }
  const std::string cache_kind = measured == 0         ? ""
                                 : rolling == measured ? "yes"
                                 : rolling == 0        ? "no"
                                                       : "mixed";
  g.display = {
      {text_or_none(g.bytes_per_token, cells::bytes)},
      {text_or_none(g.peak_bytes, cells::bytes) + (cache_kind == "yes"     ? " (rolling)"
                                                   : cache_kind == "mixed" ? " (some rolling)"
                                                                           : "")},
      {cells::mean_std(tps, 1)}};
  g.data = {cells::raw(g.bytes_per_token), cells::raw(g.peak_bytes), cells::raw(g.tokens_per_s),
            cells::raw(sample_std(tps)), cache_kind};
  return g;
}

}  // namespace

Table efficiency_table(const ExperimentData& data, const std::string& baseline) {
  Table table;
  table.id = "efficiency";
  table.title = "Training efficiency";
  table.header = {"Arm",
                  "n",
                  "Peak memory",
                  "Tokens/s (mean ± std)",
                  "MFU",
                  "Step time (ms)",
                  "Params",
                  "FLOPs/token",
                  "Steps to baseline loss",
                  "Tokens to baseline loss",
                  "vs " + baseline};
  table.data_header = {"arm",
                       "n",
                       "peak_memory_bytes",
                       "tokens_per_s_mean",
                       "tokens_per_s_std",
                       "mfu_mean",
                       "step_time_ms",
                       "n_params",
                       "flops_per_token",
                       "target_val_loss",
                       "steps_to_target",
                       "tokens_to_target",
                       "step_ratio_vs_baseline",
                       "seeds_reaching_target",
                       "peak_gpu_allocated_bytes",
                       "peak_gpu_reserved_bytes"};
  table.data_header.insert(table.data_header.end(), kGenerationDataHeader.begin(),
                           kGenerationDataHeader.end());
  const bool generation = !arms_with(data, baseline, has_generation).empty();
  if (generation) {
    table.header.insert(table.header.end(), kGenerationHeader.begin(), kGenerationHeader.end());
  }

  const auto baseline_losses = data.final_val_losses(baseline);
  const std::optional<double> target = mean_of(baseline_losses);
  std::vector<const RunData*> baseline_runs;
  for (const auto* run : data.runs_of(baseline)) {
    if (run->finished() && run->final_val_loss) baseline_runs.push_back(run);
  }
  // The baseline "reaches" its own final loss at its final eval step.
  const std::optional<double> baseline_steps = mean_of(collect(
      baseline_runs, [](const RunData& r) { return std::optional<double>(r.final_val_step); }));

  std::vector<std::optional<double>> memory, throughput, utilisation, step_ms, steps_needed,
      kv_per_token, kv_peak, generation_tps;
  for (const auto& arm : arms_baseline_first(data, baseline)) {
    std::vector<const RunData*> runs;
    for (const auto* run : data.runs_of(arm)) {
      if (run->finished()) runs.push_back(run);
    }
    const auto mem = memory_cell(runs);
    const auto tps = collect(runs, [](const RunData& r) { return r.mean_tokens_per_s; });
    const auto mfu = mean_of(collect(runs, [](const RunData& r) { return r.mfu_mean; }));
    const auto ms = mean_of(collect(runs, [](const RunData& r) {
      return r.median_step_time_s ? std::optional(*r.median_step_time_s * 1e3) : std::nullopt;
    }));
    const auto params = mean_of(collect(runs, [](const RunData& r) { return r.n_params; }));
    const auto flops = mean_of(collect(runs, [](const RunData& r) { return r.flops_per_token; }));

    // Convergence: per run, the step (and tokens) where val/loss first reaches the target.
    std::vector<double> steps, tokens;
    size_t with_loss = 0;
    if (target) {
      for (const auto* run : runs) {
        if (!run->final_val_loss) continue;
        ++with_loss;
        std::optional<double> s = arm == baseline ? std::optional<double>(run->final_val_step)
                                                  : steps_to_reach(run->val_loss, *target);
        if (!s) continue;
        steps.push_back(*s);
        if (auto t = value_at_step(run->tokens, *s)) tokens.push_back(*t);
      }
    }
    const bool all_reached = with_loss > 0 && steps.size() == with_loss;
    const auto mean_steps = all_reached ? mean_of(steps) : std::nullopt;
    const auto mean_tokens =
        all_reached && tokens.size() == steps.size() ? mean_of(tokens) : std::nullopt;
    const std::optional<double> ratio = mean_steps && baseline_steps && *baseline_steps > 0
                                            ? std::optional(*mean_steps / *baseline_steps)
                                            : std::nullopt;
    std::string steps_text = cells::kNone, ratio_cell = cells::kNone;
    if (mean_steps) steps_text = cells::fixed(*mean_steps, 0);
    if (ratio) ratio_cell = arm == baseline ? "1.00× (baseline)" : ratio_text(*ratio);
    if (target && with_loss > 0 && !all_reached) {
      steps_text = ratio_cell = "not reached by " + std::to_string(with_loss - steps.size()) +
                                " of " + std::to_string(with_loss) + " seeds";
    }

    table.rows.push_back({{arm},
                          {std::to_string(runs.size())},
                          {mem.text},
                          {cells::mean_std(tps, 0)},
                          {mfu ? cells::percent(*mfu) : "n/a"},
                          {ms ? cells::fixed(*ms, 1) : cells::kNone},
                          {text_or_none(params, cells::count)},
                          {text_or_none(flops, cells::count)},
                          {steps_text},
                          {text_or_none(mean_tokens, cells::count)},
                          {ratio_cell}});
    table.data_rows.push_back(
        {arm, std::to_string(runs.size()), cells::raw(mem.host_rss), cells::raw(mean_of(tps)),
         cells::raw(sample_std(tps)), cells::raw(mfu), cells::raw(ms), cells::raw(params),
         cells::raw(flops), cells::raw(target), cells::raw(mean_steps), cells::raw(mean_tokens),
         cells::raw(ratio), std::to_string(steps.size()) + "/" + std::to_string(with_loss),
         cells::raw(mem.gpu_allocated), cells::raw(mem.gpu_reserved)});
    const auto gen = generation_cells(data, arm);
    table.data_rows.back().insert(table.data_rows.back().end(), gen.data.begin(), gen.data.end());
    if (generation) {
      table.rows.back().insert(table.rows.back().end(), gen.display.begin(), gen.display.end());
    }
    kv_per_token.push_back(gen.bytes_per_token);
    kv_peak.push_back(gen.peak_bytes);
    generation_tps.push_back(gen.tokens_per_s);
    memory.push_back(mem.value);
    throughput.push_back(mean_of(tps));
    utilisation.push_back(mfu);
    step_ms.push_back(ms);
    steps_needed.push_back(mean_steps);
  }
  cells::bold_best(table, 2, memory, true);
  cells::bold_best(table, 3, throughput, false);
  cells::bold_best(table, 4, utilisation, false);
  cells::bold_best(table, 5, step_ms, true);
  cells::bold_best(table, 8, steps_needed, true);
  if (generation) {
    cells::bold_best(table, 11, kv_per_token, true);
    cells::bold_best(table, 12, kv_peak, true);
    cells::bold_best(table, 13, generation_tps, false);
    table.notes.push_back(
        std::string("KV cache / token, peak KV cache, generation tokens/s: the ") +
        kEvalGeneration +
        " row `attnlab eval` writes (the KV cache's bytes per cached token, its peak size "
        "during the generation, tokens generated per second with the cache), means over the "
        "arm's finished runs, tokens/s with its std; (rolling): a cache of the variant's reach "
        "+ 1 entries. — where no finished run has it (`attnlab eval RUN` adds it).");
  }

  table.notes.push_back(
      std::string("Finished runs only; means over each arm's seeds. Peak memory: the GPU "
                  "caching allocator's peak of live tensors (and of what it reserved) for GPU "
                  "runs, else the process's peak RSS. Tokens/s: run_info ") +
      metric::kInfoTokensPerSMean + " (else the mean of " + metric::kTrainTokensPerS +
      "); MFU: run_info " + metric::kInfoMfuMean +
      " (model FLOPs utilisation over the run; n/a when not logged, e.g. without a peak FLOP/s); "
      "step time: median of " +
      metric::kTrainStepTimeS + ". Steps to baseline loss: the step where " + metric::kValLoss +
      " first reaches the baseline's mean final val loss" +
      (target ? " (" + cells::fixed(*target, 4) + ")" : std::string()) +
      ", interpolated between evals; the baseline's own entry is its final eval step.");
  if (!target) {
    table.notes.push_back("No convergence columns: the baseline '" + baseline +
                          "' has no finished run with a val/loss.");
  }
  return table;
}

}  // namespace attnlab::reports
