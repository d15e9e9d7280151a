// The report's figures: the data (.dat) and script (.gp) of each, and gnuplot runs on them
// (see figures.h). Curves aggregate over each arm's seeds per step (binned when there are many
// steps); benchmark lines are per plugin (benchmarks measure a plugin, not an arm).
#include "attnlab/reports/figures.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <tuple>

#include "attnlab/reports/isoflop.h"
#include "attnlab/reports/stats.h"
#include "eval_figures.h"
#include "figure_writer.h"
#include "gnuplot_templates.h"

namespace attnlab::reports {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxCurvePoints = 300;

// One point of an aggregated curve: the mean over runs and the min–max band.
struct BandPoint {
  double step, mean, min, max;
  size_t n;
};

// Aggregates runs' curves per step; with more than kMaxCurvePoints distinct steps, each run is
// first averaged within equal-width step bins. Non-finite values are skipped.
std::vector<BandPoint> aggregate(const std::vector<const std::vector<CurvePoint>*>& curves) {
  std::vector<int64_t> steps;
  for (const auto* c : curves) {
    for (const auto& p : *c) steps.push_back(p.step);
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  if (steps.empty()) return {};
  const bool binned = steps.size() > kMaxCurvePoints;
  const double width =
      static_cast<double>(steps.back() - steps.front() + 1) / static_cast<double>(kMaxCurvePoints);
  auto key_of = [&](int64_t step) {
    return binned ? static_cast<int64_t>((step - steps.front()) / width) : step;
  };
  // key -> per-run (mean step, mean value)
  std::map<int64_t, std::vector<std::pair<double, double>>> per_key;
  for (const auto* c : curves) {
    std::map<int64_t, std::array<double, 3>> sums;  // step sum, value sum, count
    for (const auto& p : *c) {
      if (!std::isfinite(p.value)) continue;
      auto& s = sums[key_of(p.step)];
      s[0] += p.step;
      s[1] += p.value;
      s[2] += 1;
    }
    for (const auto& [key, s] : sums) per_key[key].push_back({s[0] / s[2], s[1] / s[2]});
  }
  std::vector<BandPoint> out;
  for (const auto& [key, runs] : per_key) {
    BandPoint b{0, 0, runs[0].second, runs[0].second, runs.size()};
    for (const auto& [step, value] : runs) {
      b.step += step / runs.size();
      b.mean += value / runs.size();
      b.min = std::min(b.min, value);
      b.max = std::max(b.max, value);
    }
    out.push_back(b);
  }
  return out;
}

// Runs whose curves are drawn: finished and running ones (failed runs often diverge).
std::vector<const RunData*> drawn_runs(const ExperimentData& data, const std::string& arm) {
  std::vector<const RunData*> out;
  for (const auto* run : data.runs_of(arm)) {
    if (run->finished() || run->record.status == "running") out.push_back(run);
  }
  return out;
}

void loss_curves(const ExperimentData& data, FigureWriter& writer, const FigureOptions& options,
                 const std::string& id, std::vector<CurvePoint> RunData::*curve,
                 const std::string& what) {
  std::ostringstream dat;
  std::vector<std::string> names;
  for (const auto& arm : data.arm_names()) {
    std::vector<const std::vector<CurvePoint>*> curves;
    for (const auto* run : drawn_runs(data, arm)) {
      if (!(run->*curve).empty()) curves.push_back(&(run->*curve));
    }
    const auto band = aggregate(curves);
    if (band.empty()) continue;
    names.push_back(arm + " (n=" + std::to_string(curves.size()) + ")");
    dat << "# " << arm << ": step mean min max n_runs\n";
    for (const auto& b : band) {
      dat << num(b.step) << " " << num(b.mean) << " " << num(b.min) << " " << num(b.max) << " "
          << b.n << "\n";
    }
    dat << "\n\n";
  }
  if (names.empty()) return;
  const std::string title = data.name + ": " + what;
  writer.add(id, title + " (mean over seeds, min–max band; finished and running runs)", dat.str(),
             fill_template("curves", {{"NAME", id},
                                      {"TITLE", title},
                                      {"N", std::to_string(names.size())},
                                      {"NAMES", gnuplot_array(names)},
                                      {"XLABEL", "step"},
                                      {"YLABEL", what},
                                      {"LOGX", options.log_x ? "set logscale x" : ""}}));
}

void val_loss_bars(const ExperimentData& data, FigureWriter& writer) {
  std::ostringstream dat;
  dat << "# arm mean std n_seeds (finished runs; std 0 when n = 1)\n";
  double lo = INFINITY, hi = -INFINITY;
  size_t bars = 0, single = 0;
  for (const auto& arm : data.arm_names()) {
    const auto losses = data.final_val_losses(arm);
    if (losses.empty()) continue;
    const double m = mean(losses);
    const double s = losses.size() > 1 ? sample_std(losses) : 0.0;
    single += losses.size() == 1;
    dat << quoted(arm) << " " << num(m) << " " << num(s) << " " << losses.size() << "\n";
    lo = std::min(lo, m - s);
    hi = std::max(hi, m + s);
    ++bars;
  }
  if (bars == 0) return;
  const double pad = std::max(0.15 * (hi - lo), 0.01 * std::fabs(hi));
  const std::string title =
      data.name + ": final validation loss" + (single ? " (n = 1 arms have no error bars)" : "");
  writer.add("val_loss_bar", title + ", mean ± std over seeds", dat.str(),
             fill_template("bar", {{"NAME", "val_loss_bar"},
                                   {"TITLE", title},
                                   {"N", std::to_string(bars)},
                                   {"YLABEL", "final val loss"},
                                   {"YMIN", num(lo - pad)},
                                   {"YMAX", num(hi + 2 * pad)}}));
}

// One benchmark point of a plugin at one sequence length.
struct SeqPoint {
  double tokens_per_s = 0, memory_mib = 0;
};
// plugin -> seq -> point, for one benchmark setup.
using SeqSeries = std::map<std::string, std::map<int64_t, SeqPoint>>;

// Writes "<prefix>_throughput" and "<prefix>_memory" (memory_what: which memory the points
// hold): one line per plugin against sequence length, in the experiment's plugin order.
void seq_figures(const ExperimentData& data, const SeqSeries& series, const std::string& prefix,
                 const std::string& what, const std::string& memory_what, const std::string& setup,
                 FigureWriter& writer) {
  std::ostringstream tput, mem;
  std::vector<std::string> names;
  for (const auto& plugin : data.plugins()) {
    const auto it = series.find(plugin);
    if (it == series.end()) continue;
    names.push_back(plugin);
    tput << "# " << plugin << ": seq tokens_per_s\n";
    mem << "# " << plugin << ": seq MiB (" << memory_what << ")\n";
    for (const auto& [seq, p] : it->second) {
      tput << seq << " " << num(p.tokens_per_s) << "\n";
      mem << seq << " " << num(p.memory_mib) << "\n";
    }
    tput << "\n\n";
    mem << "\n\n";
  }
  for (const auto& [id, ylabel, dat] :
       {std::tuple<std::string, std::string, std::string>{prefix + "_throughput",
                                                          what + " tokens/s", tput.str()},
        {prefix + "_memory", what + " " + memory_what + " (MiB)", mem.str()}}) {
    writer.add(id, ylabel + " vs sequence length (" + setup + ")", dat,
               fill_template("bench", {{"NAME", id},
                                       {"TITLE", ylabel + " (" + setup + ")"},
                                       {"N", std::to_string(names.size())},
                                       {"NAMES", gnuplot_array(names)},
                                       {"YLABEL", ylabel}}));
  }
}

constexpr double kMiB = 1024.0 * 1024.0;

// Attention-kernel throughput and memory against sequence length for the experiment's plugins,
// from the most recent `bench attention` setup (device, dtype, batch, heads, head_dim).
bool attention_bench_figures(const ExperimentData& data, FigureWriter& writer) {
  std::vector<store::BenchAttentionRecord> rows;
  for (const auto& r : data.bench_attention) {
    if (data.has_plugin(r.plugin) && r.fwdbwd_ms > 0) rows.push_back(r);
  }
  if (rows.empty()) return false;
  const auto& last = rows.back();
  const auto same_setup = [&](const store::BenchAttentionRecord& r) {
    return r.device == last.device && r.dtype == last.dtype && r.batch == last.batch &&
           r.heads == last.heads && r.head_dim == last.head_dim;
  };
  std::map<std::string, std::map<int64_t, const store::BenchAttentionRecord*>> latest;
  for (const auto& r : rows) {
    if (same_setup(r)) latest[r.plugin][r.seq] = &r;  // later rows replace earlier ones
  }
  // What the kernel itself allocates, when every drawn row measured it; else the process peak.
  bool extra = true;
  for (const auto& [plugin, by_seq] : latest) {
    for (const auto& [seq, r] : by_seq) extra = extra && r->extra_bytes >= 0;
  }
  SeqSeries series;
  for (const auto& [plugin, by_seq] : latest) {
    for (const auto& [seq, r] : by_seq) {
      series[plugin][seq] = {static_cast<double>(r->batch * seq) / (r->fwdbwd_ms / 1e3),
                             static_cast<double>(extra ? r->extra_bytes : r->peak_bytes) / kMiB};
    }
  }
  seq_figures(data, series, "bench_attention", "attention fwd+bwd",
              extra ? "memory above inputs" : "peak process memory",
              last.device + ", " + last.dtype + ", batch " + std::to_string(last.batch) + ", " +
                  std::to_string(last.heads) + " heads × " + std::to_string(last.head_dim),
              writer);
  return true;
}

// Training-step throughput and memory against sequence length for the experiment's plugins,
// from the most recent `bench train` setup (model preset, device, batch).
bool train_bench_figures(const ExperimentData& data, FigureWriter& writer) {
  std::vector<store::BenchTrainRecord> rows;
  for (const auto& r : data.bench_train) {
    if (data.has_plugin(r.variant) && r.tokens_per_s > 0) rows.push_back(r);
  }
  if (rows.empty()) return false;
  const auto& last = rows.back();
  SeqSeries series;
  for (const auto& r : rows) {
    if (r.preset != last.preset || r.device != last.device || r.batch != last.batch) continue;
    series[r.variant][r.seq] = {r.tokens_per_s, static_cast<double>(r.peak_bytes) / kMiB};
  }
  seq_figures(data, series, "bench_train", "training step", "peak process memory",
              last.preset + ", " + last.device + ", batch " + std::to_string(last.batch), writer);
  return true;
}

void bench_figures(const ExperimentData& data, FigureWriter& writer, FiguresResult& result) {
  const bool attention = attention_bench_figures(data, writer);
  const bool train = train_bench_figures(data, writer);
  if (!attention && !train) {
    result.notes.push_back(
        "No throughput/memory figures: no `attnlab bench attention` or `attnlab bench train` "
        "results for this experiment's plugins in the store.");
  }
}

// Gate heatmaps: the last gate_mean of each drawn run of an arm, averaged over runs.
void gate_heatmaps(const ExperimentData& data, FigureWriter& writer) {
  for (const auto& arm : data.arm_names()) {
    std::vector<const RunData*> runs;
    for (const auto* run : drawn_runs(data, arm)) {
      if (!run->gate_mean_LH.empty()) runs.push_back(run);
    }
    if (runs.empty()) continue;
    const auto& first = runs.front()->gate_mean_LH;
    const size_t layers = first.size(), heads = first.front().size();
    std::vector<std::vector<double>> sum(layers, std::vector<double>(heads, 0.0));
    size_t n = 0;
    for (const auto* run : runs) {
      const auto& g = run->gate_mean_LH;
      if (g.size() != layers || g.front().size() != heads) continue;
      for (size_t l = 0; l < layers; ++l) {
        for (size_t h = 0; h < heads; ++h) sum[l][h] += g[l][h];
      }
      ++n;
    }
    std::ostringstream dat;
    for (const auto& row : sum) {
      for (size_t h = 0; h < heads; ++h) dat << (h ? " " : "") << num(row[h] / n);
      dat << "\n";
    }
    const std::string id = "gates_" + file_stem(arm);
    const std::string title =
        data.name + ": mean gate per layer and head, " + arm + " (n=" + std::to_string(n) + ")";
    const int height = static_cast<int>(std::clamp<size_t>(120 + 60 * layers, 400, 1400));
    writer.add(
        id, title, dat.str(),
        fill_template("heatmap",
                      {{"NAME", id},
                       {"TITLE", escaped(title)},
                       {"WHAT", "mean gate activation per layer (rows) and head (columns), "
                                "averaged over seeds"},
                       {"DATA", "a matrix with one line per layer and one column per head"},
                       {"XLABEL", "head"},
                       {"YLABEL", "layer"},
                       {"CBLABEL", "mean gate"},
                       {"XTICS", "1"},
                       {"YTICS", "1"},
                       {"ROWS", std::to_string(layers)},
                       {"COLS", std::to_string(heads)},
                       {"HEIGHT", std::to_string(height)},
                       {"HEIGHT_IN", num(height / 1000.0 * 6.0)},
                       {"LABELS", layers * heads <= 128
                                      ? ", \"" + id +
                                            ".dat\" matrix using 1:2:(sprintf(\"%.2f\", $3)) with "
                                            "labels textcolor rgb \"white\" notitle"
                                      : ""}}));
  }
}

// isoFLOP curves: loss against parameters per (budget, variant), with the parabola fits
// sampled at 50 log-spaced sizes over the measured range widened to include the vertex.
void isoflop_figure(const ExperimentData& data, FigureWriter& writer) {
  const auto curves = isoflop_curves(data);
  if (curves.empty()) return;
  std::ostringstream dat, fits;
  std::vector<std::string> names;
  std::string plots;
  int fit_block = static_cast<int>(curves.size());
  for (size_t i = 0; i < curves.size(); ++i) {
    const auto& c = curves[i];
    names.push_back(c.variant + " @ " + num(c.budget) + " FLOPs");
    dat << "# " << names.back() << ": params loss_mean n_seeds training_flops\n";
    for (const auto& p : c.points) {
      dat << num(p.params) << " " << num(p.loss_mean) << " " << p.seeds << " "
          << num(p.training_flops) << "\n";
    }
    dat << "\n\n";
    if (!c.fit) continue;
    const double lo = std::log10(std::min(c.points.front().params, c.fit->best_params));
    const double hi = std::log10(std::max(c.points.back().params, c.fit->best_params));
    fits << "# fit of " << names.back() << ": params fitted_loss\n";
    for (int k = 0; k < 50; ++k) {
      const double u = lo + (hi - lo) * k / 49.0;
      fits << num(std::pow(10.0, u)) << " " << num(c.fit->a * u * u + c.fit->b * u + c.fit->c) << "\n";
    }
    fits << "\n\n";
    plots += ", \\\n     \"isoflop.dat\" index " + std::to_string(fit_block++) +
             " using 1:2 with lines dashtype 2 linewidth 1.5 linecolor " + std::to_string(i + 1) +
             " notitle";
  }
  const std::string title = data.name + ": final val loss vs parameters at equal training FLOPs";
  writer.add("isoflop", title + " (points: mean over seeds; dashed: parabola fit in log parameters)",
             dat.str() + fits.str(),
             fill_template("isoflop", {{"NAME", "isoflop"},
                                       {"TITLE", escaped(title)},
                                       {"N", std::to_string(names.size())},
                                       {"NAMES", gnuplot_array(names)},
                                       {"FITS", plots}}));
}

}  // namespace

FiguresResult write_figures(const ExperimentData& data, const fs::path& dir,
                            const FigureOptions& options) {
  FiguresResult result;
  FigureWriter writer(dir, options, result);
  loss_curves(data, writer, options, "loss_train", &RunData::train_loss, "train loss");
  loss_curves(data, writer, options, "loss_val", &RunData::val_loss, "validation loss");
  loss_curves(data, writer, options, "attn_entropy", &RunData::entropy,
              "attention entropy (nats, mean over layers)");
  val_loss_bars(data, writer);
  bench_figures(data, writer, result);
  gate_heatmaps(data, writer);
  isoflop_figure(data, writer);
  eval_figures(data, writer);
  if (!result.gnuplot_found) {
    result.notes.insert(
        result.notes.begin(),
        "gnuplot not found ('" + options.gnuplot +
            "'): figures not drawn, their "
            ".gp and .dat are written; install it (apt-get install gnuplot-nox) and "
            "rerun attnlab report, or run gnuplot on each .gp in the figures folder.");
  }
  return result;
}

}  // namespace attnlab::reports
