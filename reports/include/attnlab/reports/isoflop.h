// isoFLOP analysis of an experiment whose runs set train.flop_budget (docs/ISOFLOP.md): per
// (budget, variant) curve, each model size's final validation loss (mean over its finished
// seeds) against its parameter count, and a least-squares parabola in log10(parameters) whose
// vertex estimates the curve's compute-optimal size and loss.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "attnlab/reports/experiment_data.h"

namespace attnlab::reports {

struct IsoflopPoint {
  double params = 0;
  double loss_mean = 0;       // final val loss, mean over the size's finished seeds
  size_t seeds = 0;
  double training_flops = 0;  // mean over those runs (run_info training_flops)
};

// loss ≈ a·u² + b·u + c with u = log10(parameters), fitted to a curve's points.
struct ParabolaFit {
  double a = 0, b = 0, c = 0;
  double best_params = 0;  // 10^(−b / 2a), the vertex
  double best_loss = 0;    // the parabola's value there
  bool inside = false;     // the vertex lies within the sizes measured (else extrapolated)
};

struct IsoflopCurve {
  double budget = 0;          // train.flop_budget of its runs
  std::string variant;        // attention.variant (with its options where they vary)
  std::vector<IsoflopPoint> points;  // by parameter count
  std::optional<ParabolaFit> fit;    // nullopt: fewer than 3 sizes, or no minimum (a ≤ 0)
};

// The parabola through `points` by least squares; nullopt with fewer than 3 distinct sizes or
// when it opens downwards (no minimum).
std::optional<ParabolaFit> fit_parabola(const std::vector<IsoflopPoint>& points);

// Every curve of the experiment's finished runs with train.flop_budget > 0, ordered by budget,
// then by first appearance of the variant; empty when no run has a budget.
std::vector<IsoflopCurve> isoflop_curves(const ExperimentData& data);

}  // namespace attnlab::reports
