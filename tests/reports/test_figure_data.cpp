// The numbers in the figures' .dat files, checked against the stores' inputs: the loss curves
// (mean, min and max over the drawn runs per step; non-finite values skipped; equal-width step
// bins past 300 distinct steps) and the final val loss bars (mean, sample std, n per arm).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "attnlab/reports/figures.h"
#include "attnlab/store/store.h"
#include "attnlab/train/metric_names.h"
#include "fresh_rng.h"
#include "synthetic_store.h"
#include "table_checks.h"

using namespace attnlab::reports;
using namespace attnlab::reports::testing;
namespace fs = std::filesystem;

namespace {

constexpr size_t kBins = 300;  // figures.cpp's kMaxCurvePoints
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// One line of a curve block: step mean min max n_runs.
struct DatPoint {
  double step = 0, mean = 0, min = 0, max = 0;
  size_t n = 0;
};

// train/loss of one run, indexed by the store's 0-based step (the report's step is index + 1).
struct LoggedRun {
  std::string status;
  std::vector<double> loss;
};

std::vector<double> random_losses(std::mt19937& rng, size_t n) {
  std::uniform_real_distribution<double> loss(2.0, 5.0);
  std::vector<double> out(n);
  for (auto& v : out) v = loss(rng);
  return out;
}

// Writes the runs (one arm: `dense`, differing only by seed) to a fresh store and the
// experiment's figures (no gnuplot) next to it; returns the figures folder.
fs::path write_curve_figures(const std::string& tag, const std::vector<LoggedRun>& runs) {
  const std::string db = fresh_store_path(tag), experiment = "curves_" + tag;
  attnlab::store::Store store(db);
  store.upsert_experiment(experiment, "experiments/" + experiment + ".yaml", "{}");
  for (size_t seed = 0; seed < runs.size(); ++seed) {
    const nlohmann::json config = {{"seed", seed}, {"attention", {{"variant", "dense"}}}};
    const auto run =
        store.get_or_create_run(experiment, "seed=" + std::to_string(seed), "dense",
                                static_cast<int64_t>(seed), config.dump(), "", "[]", "abc1234");
    store.claim_run(run.id, "test");
    for (size_t i = 0; i < runs[seed].loss.size(); ++i) {
      store.log_metrics(run.id, static_cast<int64_t>(i),
                        {{attnlab::metric::kTrainLoss, runs[seed].loss[i]}});
    }
    if (runs[seed].status != "running") store.set_run_status(run.id, runs[seed].status);
  }
  const fs::path dir = fs::path(db).parent_path() / "figures";
  FigureOptions options;
  options.gnuplot = "/nonexistent/gnuplot";
  write_figures(load_experiment(store, experiment), dir, options);
  return dir;
}

// The blocks of a curves .dat, by the arm named in each block's "# <arm>: ..." line.
std::map<std::string, std::vector<DatPoint>> read_curves(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::map<std::string, std::vector<DatPoint>> out;
  std::string line, arm;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) {
      arm = line.substr(2, line.find(": step") - 2);
    } else if (!line.empty()) {
      std::istringstream fields(line);
      DatPoint p;
      fields >> p.step >> p.mean >> p.min >> p.max >> p.n;
      INFO(line);
      REQUIRE_FALSE(fields.fail());  // "nan" or "inf" in a column fails here
      out[arm].push_back(p);
    }
  }
  return out;
}

// The documented aggregation, from the inputs: the steps of the drawn (finished, running) runs
// fall into min(span, 300) equal-width bins (one step each when span ≤ 300); each run's finite
// values in a bin are averaged (step and value), then mean, min and max over those runs.
std::vector<DatPoint> expected_band(const std::vector<LoggedRun>& runs) {
  size_t span = 0;
  for (const auto& r : runs) {
    if (r.status != "failed") span = std::max(span, r.loss.size());
  }
  const size_t bins = std::min(span, kBins);
  std::map<size_t, std::vector<std::pair<double, double>>> per_bin;  // per run: step, value
  for (const auto& r : runs) {
    if (r.status == "failed") continue;
    std::map<size_t, std::pair<std::vector<double>, std::vector<double>>> own;
    for (size_t i = 0; i < r.loss.size(); ++i) {
      if (!std::isfinite(r.loss[i])) continue;
      auto& [steps, values] = own[i * bins / span];
      steps.push_back(i + 1.0);
      values.push_back(r.loss[i]);
    }
    for (const auto& [bin, sv] : own) per_bin[bin].push_back({avg(sv.first), avg(sv.second)});
  }
  std::vector<DatPoint> out;
  for (const auto& [bin, per_run] : per_bin) {
    std::vector<double> steps, values;
    for (const auto& [step, value] : per_run) {
      steps.push_back(step);
      values.push_back(value);
    }
    out.push_back({avg(steps), avg(values), *std::min_element(values.begin(), values.end()),
                   *std::max_element(values.begin(), values.end()), per_run.size()});
  }
  return out;
}

// Writes the runs' figures and checks loss_train.dat point by point; returns its points.
std::vector<DatPoint> check_train_curve(const std::string& tag,
                                        const std::vector<LoggedRun>& runs) {
  const auto blocks = read_curves(write_curve_figures(tag, runs) / "loss_train.dat");
  REQUIRE(blocks.size() == 1);
  const auto& got = blocks.begin()->second;
  const auto want = expected_band(runs);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("point " << i << " of " << tag);
    CHECK(got[i].step == Approx(want[i].step).epsilon(1e-7));
    CHECK(got[i].mean == Approx(want[i].mean).epsilon(1e-7));
    CHECK(got[i].min == Approx(want[i].min).epsilon(1e-7));
    CHECK(got[i].max == Approx(want[i].max).epsilon(1e-7));
    CHECK(got[i].n == want[i].n);
  }
  return got;
}

// The report steps (index + 1) at which the curves are drawn.
std::vector<double> steps_of(const std::vector<DatPoint>& points) {
  std::vector<double> out;
  for (const auto& p : points) out.push_back(p.step);
  return out;
}

}  // namespace

TEST_CASE("figure data: curves per step over drawn runs, NaN and inf skipped, failed excluded") {
  FreshRng fresh;
  INFO("rng seed " << fresh.seed);
  auto& rng = fresh.engine;
  std::vector<LoggedRun> runs = {{"finished", random_losses(rng, 50)},
                                 {"finished", random_losses(rng, 50)},
                                 {"running", random_losses(rng, 30)},
                                 {"failed", std::vector<double>(60, 1e6)}};
  runs[2].loss[10] = kNaN;  // a diverging run: its NaN and inf are skipped, not averaged
  runs[2].loss[20] = kInf;
  runs[0].loss[40] = runs[1].loss[40] = kNaN;  // no finite value: no point at step 41
  const auto points = check_train_curve("curve_steps", runs);

  std::vector<double> expected_steps;
  for (int step = 1; step <= 50; ++step) {
    if (step != 41) expected_steps.push_back(step);
  }
  CHECK(steps_of(points) == expected_steps);  // the failed run's steps 51..60 are not drawn
  CHECK(points[10].n == 2);                   // step 11: the running run's NaN left out
  CHECK(points[10].mean == Approx((runs[0].loss[10] + runs[1].loss[10]) / 2).epsilon(1e-7));
  CHECK(points[20].n == 2);
  CHECK(points[29].n == 3);
  CHECK(points[30].n == 2);  // the running run stops at step 30
}

TEST_CASE("figure data: 300 distinct steps are drawn as they are, 301 are binned") {
  FreshRng fresh;
  INFO("rng seed " << fresh.seed);
  auto& rng = fresh.engine;
  const auto exact = check_train_curve("curve_300", {{"finished", random_losses(rng, 300)}});
  std::vector<double> one_to_300(300);
  for (size_t i = 0; i < one_to_300.size(); ++i) one_to_300[i] = i + 1.0;
  CHECK(steps_of(exact) == one_to_300);

  const auto binned = check_train_curve("curve_301", {{"finished", random_losses(rng, 301)}});
  CHECK(binned.size() == kBins);
  const auto halves = std::count_if(binned.begin(), binned.end(),
                                    [](const DatPoint& p) { return p.step != std::floor(p.step); });
  CHECK(halves == 1);  // one bin holds two steps, its step is their mean
}

TEST_CASE("figure data: 1000 logged steps fall into 300 equal-width bins") {
  FreshRng fresh;
  INFO("rng seed " << fresh.seed);
  auto& rng = fresh.engine;
  std::vector<LoggedRun> runs;
  for (int seed = 0; seed < 3; ++seed) runs.push_back({"finished", random_losses(rng, 1000)});
  runs[1].loss[2] = kNaN;  // bin 0 of run 1 averages steps 1, 2 and 4 only
  runs[2].loss[500] = -kInf;
  const auto points = check_train_curve("curve_1000", runs);

  REQUIRE(points.size() == kBins);
  // Width 1000 / 300: bin k holds steps s with floor((s - 1) * 300 / 1000) == k.
  CHECK(points.front().step == Approx((2.5 + 7.0 / 3 + 2.5) / 3));  // steps 1..4, run 1 no 3
  CHECK(points[1].step == Approx(6.0));                             // steps 5, 6, 7
  CHECK(points[2].step == Approx(9.0));                             // steps 8, 9, 10
  CHECK(points[3].step == Approx(12.5));                            // steps 11..14
  CHECK(points.back().step == Approx(999));                         // steps 998, 999, 1000
  const auto first_four = [&](size_t run) {
    const auto& l = runs[run].loss;
    return run == 1 ? (l[0] + l[1] + l[3]) / 3 : (l[0] + l[1] + l[2] + l[3]) / 4;
  };
  CHECK(points.front().mean ==
        Approx((first_four(0) + first_four(1) + first_four(2)) / 3).epsilon(1e-7));
  for (const auto& p : points) CHECK(p.n == 3);
}

TEST_CASE("figure data: final val loss bars and val curves from the synthetic store") {
  const auto synth = make_synthetic_store("figure_data", "");
  attnlab::store::Store store(synth.db_path);
  const fs::path dir = fs::path(synth.db_path).parent_path() / "figures";
  FigureOptions options;
  options.gnuplot = "/nonexistent/gnuplot";
  write_figures(load_experiment(store, synth.name), dir, options);

  std::ifstream bars(dir / "val_loss_bar.dat");
  std::string line;
  std::map<std::string, std::vector<double>> rows;  // arm -> mean, std, n
  while (std::getline(bars, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string arm;
    double mean = 0, spread = 0, n = 0;
    fields >> std::quoted(arm) >> mean >> spread >> n;
    rows[arm] = {mean, spread, n};
  }
  const auto val_curves = read_curves(dir / "loss_val.dat");
  REQUIRE(rows.size() == synth.final_val_loss.size());  // gated_dense: no finished run
  for (const auto& [variant, losses] : synth.final_val_loss) {
    INFO(variant);
    REQUIRE(rows.count(variant));
    CHECK(rows[variant][0] == Approx(avg(losses)).epsilon(1e-7));
    CHECK(rows[variant][1] == Approx(losses.size() > 1 ? sd(losses) : 0.0).margin(1e-9));
    CHECK(rows[variant][2] == losses.size());
    // The val curve's last point (step 101) is the band over the finished runs' final losses.
    const DatPoint last = val_curves.at(variant).back();
    CHECK(last.step == kLastStep + 1);
    CHECK(last.mean == Approx(avg(losses)).epsilon(1e-7));
    CHECK(last.min == Approx(*std::min_element(losses.begin(), losses.end())).epsilon(1e-7));
    CHECK(last.max == Approx(*std::max_element(losses.begin(), losses.end())).epsilon(1e-7));
    CHECK(last.n == losses.size());
  }
}
