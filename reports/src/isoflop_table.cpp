// The isoFLOP table: the FLOP-matched comparison of the variants at each training budget.
#include <algorithm>
#include <cmath>

#include "attnlab/reports/isoflop.h"
#include "attnlab/reports/tables.h"
#include "cells.h"

namespace attnlab::reports {

namespace {

bool fit_inside(const IsoflopCurve& curve) { return curve.fit && curve.fit->inside; }

const IsoflopPoint& best_point(const IsoflopCurve& curve) {
  return *std::min_element(curve.points.begin(), curve.points.end(),
                           [](const auto& x, const auto& y) { return x.loss_mean < y.loss_mean; });
}

// The curve's loss minus the reference's: fitted optima where both vertices lie within the
// sizes measured, else the best measured losses.
double delta_loss(const IsoflopCurve& curve, const IsoflopCurve& ref) {
  if (fit_inside(curve) && fit_inside(ref)) return curve.fit->best_loss - ref.fit->best_loss;
  return best_point(curve).loss_mean - best_point(ref).loss_mean;
}

// The reference curve at the curve's budget: dense when measured there, else the first one.
const IsoflopCurve& reference_of(const std::vector<IsoflopCurve>& curves, double budget) {
  const IsoflopCurve* first = nullptr;
  for (const auto& c : curves) {
    if (c.budget != budget) continue;
    if (c.variant == "dense") return c;
    if (!first) first = &c;
  }
  return *first;
}

// "used / budget" over the curve's sizes: "99.7–100.4%".
std::string budget_use(const IsoflopCurve& curve) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& p : curve.points) {
    if (p.training_flops <= 0) continue;
    lo = std::min(lo, p.training_flops / curve.budget);
    hi = std::max(hi, p.training_flops / curve.budget);
  }
  if (lo > hi) return cells::kNone;
  return cells::fixed(100 * lo, 1) + (hi - lo > 5e-4 ? "–" + cells::fixed(100 * hi, 1) : "") + "%";
}

std::string fit_text(const IsoflopCurve& curve) {
  if (!curve.fit) return curve.points.size() < 3 ? "— (< 3 sizes)" : "— (no minimum)";
  return cells::count(curve.fit->best_params) + " → " + cells::fixed(curve.fit->best_loss, 4) +
         (curve.fit->inside ? "" : " (extrapolated)");
}

}  // namespace

std::optional<Table> isoflop_table(const ExperimentData& data) {
  const auto curves = isoflop_curves(data);
  if (curves.empty()) return std::nullopt;
  Table table;
  table.id = "isoflop";
  table.title = "isoFLOP: final validation loss at equal training FLOPs";
  table.header = {"Budget (FLOPs)", "Variant",          "Sizes (seeds)", "Best measured",
                  "Fitted optimum", "Δ loss vs ref.",   "FLOPs used"};
  table.data_header = {"budget", "variant", "sizes", "seeds", "best_params", "best_loss",
                       "fit_params", "fit_loss", "fit_inside", "delta_loss", "reference"};
  for (const auto& curve : curves) {
    const auto& ref = reference_of(curves, curve.budget);
    const auto& best = best_point(curve);
    size_t seeds = 0;
    for (const auto& p : curve.points) seeds += p.seeds;
    const bool is_ref = &ref == &curve;
    const double delta = delta_loss(curve, ref);
    table.rows.push_back(
        {{cells::count(curve.budget)}, {curve.variant},
         {std::to_string(curve.points.size()) + " (" + std::to_string(seeds) + ")"},
         {cells::count(best.params) + " → " + cells::fixed(best.loss_mean, 4)}, {fit_text(curve)},
         {is_ref ? "reference" : cells::signed_fixed(delta, 4)}, {budget_use(curve)}});
    table.data_rows.push_back(
        {cells::raw(curve.budget), curve.variant, std::to_string(curve.points.size()),
         std::to_string(seeds), cells::raw(best.params), cells::raw(best.loss_mean),
         cells::raw(curve.fit ? std::optional(curve.fit->best_params) : std::nullopt),
         cells::raw(curve.fit ? std::optional(curve.fit->best_loss) : std::nullopt),
         curve.fit ? (curve.fit->inside ? "1" : "0") : "", cells::raw(delta), ref.variant});
  }
  table.notes.push_back(
      "Each run's steps were chosen so that its training FLOPs (FLOPs per token, the variant's "
      "attention included, × tokens per step × steps) match the budget, rounded to whole steps "
      "(FLOPs used: the range over the sizes). Loss: final validation loss, mean over a size's "
      "finished seeds. Fitted optimum: the vertex of a least-squares parabola of loss in "
      "log10(parameters) over the sizes measured (extrapolated: outside them). Δ loss: against "
      "the reference variant at the same budget (dense when measured), between fitted optima "
      "where both lie within the sizes measured, else between the best measured losses.");
  return table;
}

}  // namespace attnlab::reports
