// isoFLOP curves and their parabola fits (see isoflop.h).
#include "attnlab/reports/isoflop.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "attnlab/reports/stats.h"

namespace attnlab::reports {

namespace {

using Matrix3 = std::array<std::array<double, 4>, 3>;  // augmented [M | r]

// Solves the 3x3 system by Gaussian elimination with partial pivoting; nullopt when singular.
std::optional<std::array<double, 3>> solve3(Matrix3 m) {
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 3; ++r) {
      if (std::fabs(m[r][col]) > std::fabs(m[pivot][col])) pivot = r;
    }
    if (std::fabs(m[pivot][col]) < 1e-300) return std::nullopt;
    std::swap(m[col], m[pivot]);
    for (int r = 0; r < 3; ++r) {
      if (r == col) continue;
      const double f = m[r][col] / m[col][col];
      for (int k = col; k < 4; ++k) m[r][k] -= f * m[col][k];
    }
  }
  return std::array<double, 3>{m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]};
}

const nlohmann::json* find_path(const nlohmann::json& tree, const char* section, const char* key) {
  if (!tree.is_object() || !tree.contains(section) || !tree[section].is_object()) return nullptr;
  const auto& s = tree[section];
  return s.contains(key) ? &s[key] : nullptr;
}

double budget_of(const RunData& run) {
  const auto* b = find_path(run.config, "train", "flop_budget");
  return b && b->is_number() ? b->get<double>() : 0.0;
}

std::string variant_of(const RunData& run) {
  const auto* v = find_path(run.config, "attention", "variant");
  return v && v->is_string() ? v->get<std::string>() : "?";
}

std::string options_of(const RunData& run) {
  const auto* o = find_path(run.config, "attention", "options");
  return o ? o->dump() : "{}";
}

// The finished budget runs with a parameter count and a final val loss.
std::vector<const RunData*> budget_runs(const ExperimentData& data) {
  std::vector<const RunData*> out;
  for (const auto& run : data.runs) {
    if (run.finished() && budget_of(run) > 0 && run.n_params && run.final_val_loss) {
      out.push_back(&run);
    }
  }
  return out;
}

// The curve label of each run: its variant, plus its options where that variant's options vary.
std::map<const RunData*, std::string> labels(const std::vector<const RunData*>& runs) {
  std::map<std::string, std::set<std::string>> options;
  for (const auto* run : runs) options[variant_of(*run)].insert(options_of(*run));
  std::map<const RunData*, std::string> out;
  for (const auto* run : runs) {
    const auto variant = variant_of(*run);
    out[run] = options[variant].size() > 1 ? variant + " " + options_of(*run) : variant;
  }
  return out;
}

IsoflopCurve make_curve(double budget, const std::string& variant,
                        const std::vector<const RunData*>& runs) {
  std::map<double, std::vector<const RunData*>> by_size;
  for (const auto* run : runs) by_size[*run->n_params].push_back(run);
  IsoflopCurve curve{budget, variant, {}, std::nullopt};
  for (const auto& [params, seeds] : by_size) {
    std::vector<double> losses, flops;
    for (const auto* run : seeds) {
      losses.push_back(*run->final_val_loss);
      if (run->training_flops) flops.push_back(*run->training_flops);
    }
    curve.points.push_back({params, mean(losses), seeds.size(), flops.empty() ? 0.0 : mean(flops)});
  }
  curve.fit = fit_parabola(curve.points);
  return curve;
}

}  // namespace

std::optional<ParabolaFit> fit_parabola(const std::vector<IsoflopPoint>& points) {
  if (points.size() < 3) return std::nullopt;
  std::vector<double> us;
  for (const auto& p : points) us.push_back(std::log10(p.params));
  const double center = mean(us);
  // Normal equations of y = A v² + B v + C with v = u − center (centred for conditioning).
  Matrix3 m{};
  for (size_t i = 0; i < points.size(); ++i) {
    const double v = us[i] - center, y = points[i].loss_mean;
    const std::array<double, 3> basis = {v * v, v, 1.0};
    for (int r = 0; r < 3; ++r) {
      for (int k = 0; k < 3; ++k) m[r][k] += basis[r] * basis[k];
      m[r][3] += basis[r] * y;
    }
  }
  const auto abc = solve3(m);
  if (!abc || (*abc)[0] <= 0) return std::nullopt;
  const auto [A, B, C] = *abc;
  ParabolaFit fit;
  fit.a = A;
  fit.b = B - 2 * A * center;
  fit.c = A * center * center - B * center + C;
  const double vertex_u = center - B / (2 * A);
  fit.best_params = std::pow(10.0, vertex_u);
  fit.best_loss = C - B * B / (4 * A);
  const auto [lo, hi] = std::minmax_element(us.begin(), us.end());
  fit.inside = vertex_u >= *lo && vertex_u <= *hi;
  return fit;
}

std::vector<IsoflopCurve> isoflop_curves(const ExperimentData& data) {
  const auto runs = budget_runs(data);
  const auto label = labels(runs);
  std::vector<std::string> order;  // variant labels in order of first run
  std::map<double, std::map<std::string, std::vector<const RunData*>>> grouped;
  for (const auto* run : runs) {
    const auto& name = label.at(run);
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
    grouped[budget_of(*run)][name].push_back(run);
  }
  std::vector<IsoflopCurve> curves;
  for (const auto& [budget, by_variant] : grouped) {
    for (const auto& name : order) {
      const auto it = by_variant.find(name);
      if (it != by_variant.end()) curves.push_back(make_curve(budget, name, it->second));
    }
  }
  return curves;
}

}  // namespace attnlab::reports
