// The isoFLOP analysis: the parabola fit against polynomials known here (exact recovery, the
// 3-point interpolant, no minimum when concave), and the curves, table and figure data of a
// synthetic store of budgeted runs (2 budgets x 2 variants x 3 sizes x 2 seeds) checked against
// means, parabolas and differences computed here from what the store was filled with.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "attnlab/reports/figures.h"
#include "attnlab/reports/isoflop.h"
#include "attnlab/reports/tables.h"
#include "attnlab/store/store.h"
#include "attnlab/train/metric_names.h"
#include "synthetic_store.h"
#include "table_checks.h"

using namespace attnlab::reports;
using namespace attnlab::reports::testing;
namespace fs = std::filesystem;

namespace {

std::vector<IsoflopPoint> points_on(double a, double b, double c, const std::vector<double>& us) {
  std::vector<IsoflopPoint> points;
  for (double u : us) points.push_back({std::pow(10.0, u), a * u * u + b * u + c, 1, 0});
  return points;
}

// The parabola through three points (Lagrange form), evaluated at u.
double through_three(const std::vector<IsoflopPoint>& p, double u) {
  double total = 0;
  for (int i = 0; i < 3; ++i) {
    double term = p[i].loss_mean;
    for (int j = 0; j < 3; ++j) {
      if (j == i) continue;
      const double ui = std::log10(p[i].params), uj = std::log10(p[j].params);
      term *= (u - uj) / (ui - uj);
    }
    total += term;
  }
  return total;
}

struct BudgetStore {
  std::string db, experiment;
  // (budget, variant, params) -> the seeds' final val losses
  std::map<std::tuple<double, std::string, double>, std::vector<double>> losses;
};

constexpr double kBudgets[] = {1e12, 4e12};
constexpr double kSizes[] = {1e6, 3e6, 1e7};

// The training FLOPs stored for the runs of size index `size`: rounding to whole steps.
double used_flops(double budget, size_t size) { return budget * (1 + 0.001 * (size - 1.0)); }

// A loss curve with its minimum inside the sizes for dense, and lower for fixed_window at the
// larger budget; seeds jitter around it.
BudgetStore make_budget_store(std::mt19937& rng) {
  BudgetStore out{fresh_store_path("isoflop"), "isoflop_synth", {}};
  attnlab::store::Store store(out.db);
  store.upsert_experiment(out.experiment, "experiments/isoflop_synth.yaml", "{}");
  std::uniform_real_distribution<double> jitter(-0.01, 0.01);
  for (const double budget : kBudgets) {
    for (const std::string variant : {"dense", "fixed_window"}) {
      for (size_t size = 0; size < 3; ++size) {
        const double params = kSizes[size];
        const double u = std::log10(params) - 6.5;
        const double centre = 3.0 + 0.8 * u * u - (variant == "fixed_window") * 0.05 * (budget > 2e12);
        for (int64_t seed = 0; seed < 2; ++seed) {
          const nlohmann::json config = {
              {"attention", {{"variant", variant}, {"options", nlohmann::json::object()}}},
              {"model", {{"d_model", static_cast<int>(params / 1e4)}}},
              {"train", {{"flop_budget", budget}, {"steps", 0}}}};
          const double loss = centre + jitter(rng);
          add_finished_run(store, out.experiment, variant, seed, config, loss, std::nullopt);
          const auto id = store.runs(out.experiment).back().id;
          store.set_run_info(id, attnlab::metric::kInfoNParams, nlohmann::json(params).dump());
          store.set_run_info(id, attnlab::metric::kInfoTrainingFlops,
                             nlohmann::json(used_flops(budget, size)).dump());
          out.losses[{budget, variant, params}].push_back(loss);
        }
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("parabola fit: exact on a parabola, the interpolant through 3 points, none when concave",
          "[isoflop]") {
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> coef(0.1, 2.0), shift(5.0, 9.0), pos(-1.0, 1.0);
  const double a = coef(rng), vertex = shift(rng), floor = 2.0 + coef(rng);
  const double b = -2 * a * vertex, c = a * vertex * vertex + floor;
  std::vector<double> us;
  for (int i = 0; i < 5; ++i) us.push_back(vertex + pos(rng));
  const auto fit = fit_parabola(points_on(a, b, c, us));
  REQUIRE(fit);
  CHECK(fit->a == Approx(a).epsilon(1e-8));
  CHECK(fit->b == Approx(b).epsilon(1e-8));
  CHECK(fit->best_params == Approx(std::pow(10.0, vertex)).epsilon(1e-7));
  CHECK(fit->best_loss == Approx(floor).epsilon(1e-9));

  // Three noisy points: the fit is their interpolant; its vertex is where that is lowest.
  std::uniform_real_distribution<double> noise(-0.05, 0.05);
  auto three = points_on(a, b, c, {vertex - 0.7, vertex + 0.1, vertex + 0.8});
  for (auto& p : three) p.loss_mean += noise(rng);
  const auto fit3 = fit_parabola(three);
  REQUIRE(fit3);
  const double u_star = std::log10(fit3->best_params);
  CHECK(fit3->best_loss == Approx(through_three(three, u_star)).epsilon(1e-9));
  CHECK(through_three(three, u_star - 0.01) > fit3->best_loss);
  CHECK(through_three(three, u_star + 0.01) > fit3->best_loss);

  CHECK_FALSE(fit_parabola(points_on(-a, b, c, us)));                    // concave: no minimum
  CHECK_FALSE(fit_parabola(points_on(a, b, c, {vertex, vertex + 0.5})));  // two sizes
  // Monotone over the sizes: the vertex is outside them, so it is flagged as extrapolated.
  const auto edge = fit_parabola(points_on(a, b, c, {vertex + 0.5, vertex + 1, vertex + 1.5}));
  REQUIRE(edge);
  CHECK_FALSE(edge->inside);
}

TEST_CASE("isoFLOP curves, table and figure data of budgeted runs", "[isoflop]") {
  std::mt19937 rng(std::random_device{}());
  const auto synth = make_budget_store(rng);
  attnlab::store::Store store(synth.db);
  const auto data = load_experiment(store, synth.experiment);
  const auto curves = isoflop_curves(data);
  REQUIRE(curves.size() == 4);
  CHECK(curves[0].budget == kBudgets[0]);
  CHECK(curves[0].variant == "dense");
  CHECK(curves[1].variant == "fixed_window");
  CHECK(curves[3].budget == kBudgets[1]);
  for (const auto& curve : curves) {
    INFO(curve.variant << " @ " << curve.budget);
    REQUIRE(curve.points.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
      CHECK(curve.points[i].params == kSizes[i]);
      CHECK(curve.points[i].seeds == 2);
      CHECK(curve.points[i].loss_mean ==
            Approx(avg(synth.losses.at({curve.budget, curve.variant, kSizes[i]}))).epsilon(1e-12));
      CHECK(curve.points[i].training_flops == Approx(used_flops(curve.budget, i)).epsilon(1e-12));
    }
    REQUIRE(curve.fit);  // convex with its vertex near 10^6.5: inside the sizes
    CHECK(curve.fit->inside);
  }

  const auto table = isoflop_table(data);
  REQUIRE(table);
  REQUIRE(table->rows.size() == 4);
  const size_t delta = column(*table, "delta_loss"), ref = column(*table, "reference");
  for (size_t r = 0; r < 4; ++r) {
    const auto& curve = curves[r];
    const auto& dense = curves[r - r % 2];
    INFO("row " << r);
    CHECK(table->data_rows[r][ref] == "dense");
    CHECK(std::stod(table->data_rows[r][delta]) ==
          Approx(curve.fit->best_loss - dense.fit->best_loss).margin(1e-9));
  }
  CHECK(table->rows[0][5].text == "reference");
  CHECK(std::stod(table->data_rows[3][delta]) < -0.02);  // the window's 0.05 advantage shows
  CHECK(table->rows[0][6].text == "99.9–100.1%");

  // Figure data without gnuplot: 4 point blocks, then the 4 fits, each lowest at its vertex.
  const auto dir = fs::path(synth.db).parent_path() / "figures";
  write_figures(data, dir, FigureOptions{"/nonexistent/gnuplot", false});
  std::ifstream in(dir / "isoflop.dat");
  std::stringstream text;
  text << in.rdbuf();
  const std::string dat = text.str();
  CHECK(dat.find("# dense @ 1e+12 FLOPs") != std::string::npos);
  size_t fit_blocks = 0;
  for (size_t at = dat.find("# fit of "); at != std::string::npos; at = dat.find("# fit of ", at + 1)) {
    ++fit_blocks;
  }
  CHECK(fit_blocks == 4);
  std::ifstream script(dir / "isoflop.gp");
  std::stringstream gp;
  gp << script.rdbuf();
  CHECK(gp.str().find("index 7 using 1:2 with lines dashtype 2") != std::string::npos);
}
