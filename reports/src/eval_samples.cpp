// The seed samples of the evaluation results (see eval_samples.h).
#include "eval_samples.h"

#include <algorithm>
#include <cmath>

#include "attnlab/reports/tables.h"

namespace attnlab::reports {

namespace {

// Calls `visit(evals)` for each finished run of the arm.
template <class Visit>
void each_finished(const ExperimentData& data, const std::string& arm, Visit visit) {
  for (const auto* run : data.runs_of(arm)) {
    if (run->finished()) visit(run->evals);
  }
}

void add_finite(Samples& samples, double value) {
  if (std::isfinite(value)) samples.push_back(value);
}

// Drops the keys whose every value was non-finite.
template <class Key>
std::map<Key, Samples> without_empty(std::map<Key, Samples> samples) {
  for (auto it = samples.begin(); it != samples.end();) {
    it = it->second.empty() ? samples.erase(it) : std::next(it);
  }
  return samples;
}

}  // namespace

Samples val_loss_samples(const ExperimentData& data, const std::string& arm,
                         double ValLossEval::*field) {
  Samples out;
  each_finished(data, arm, [&](const RunEvals& e) {
    if (e.val_loss) add_finite(out, (*e.val_loss).*field);
  });
  return out;
}

Samples generation_samples(const ExperimentData& data, const std::string& arm,
                           double GenerationEval::*field) {
  Samples out;
  each_finished(data, arm, [&](const RunEvals& e) {
    if (e.generation) add_finite(out, (*e.generation).*field);
  });
  return out;
}

std::map<Bucket, Samples> position_loss_samples(const ExperimentData& data,
                                                const std::string& arm) {
  std::map<Bucket, Samples> out;
  each_finished(data, arm, [&](const RunEvals& e) {
    if (!e.position_loss) return;
    const auto& p = *e.position_loss;
    for (size_t i = 0; i < p.loss.size(); ++i) {
      add_finite(out[{p.bucket_start[i], p.bucket_end[i]}], p.loss[i]);
    }
  });
  return without_empty(std::move(out));
}

std::map<int64_t, Samples> mqar_samples(const ExperimentData& data, const std::string& arm) {
  std::map<int64_t, Samples> out;
  each_finished(data, arm, [&](const RunEvals& e) {
    if (!e.mqar) return;
    for (size_t i = 0; i < e.mqar->gaps.size(); ++i) {
      add_finite(out[e.mqar->gaps[i]], e.mqar->accuracy[i]);
    }
  });
  return without_empty(std::move(out));
}

Samples mqar_overall_samples(const ExperimentData& data, const std::string& arm) {
  Samples out;
  each_finished(data, arm, [&](const RunEvals& e) {
    if (e.mqar) add_finite(out, e.mqar->overall);
  });
  return out;
}

std::map<PasskeyCell, Samples> passkey_samples(const ExperimentData& data, const std::string& arm) {
  std::map<PasskeyCell, Samples> out;
  each_finished(data, arm, [&](const RunEvals& e) {
    if (!e.passkey) return;
    const auto& p = *e.passkey;
    for (size_t l = 0; l < p.lengths.size(); ++l) {
      for (size_t d = 0; d < p.depths.size(); ++d) {
        add_finite(out[{p.lengths[l], p.depths[d]}], p.accuracy[l][d]);
      }
    }
  });
  return without_empty(std::move(out));
}

std::vector<std::string> arms_with(const ExperimentData& data, const std::string& baseline,
                                   bool (*has)(const RunEvals&)) {
  std::vector<std::string> out;
  for (const auto& arm : arms_baseline_first(data, baseline)) {
    bool any = false;
    each_finished(data, arm, [&](const RunEvals& e) { any = any || has(e); });
    if (any) out.push_back(arm);
  }
  return out;
}

std::vector<std::string> arms_without(const ExperimentData& data, bool (*has)(const RunEvals&)) {
  const auto with = arms_with(data, "", has);
  std::vector<std::string> out;
  for (const auto& arm : data.arm_names()) {
    if (std::find(with.begin(), with.end(), arm) == with.end()) out.push_back(arm);
  }
  return out;
}

}  // namespace attnlab::reports
