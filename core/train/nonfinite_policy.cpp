// NonFinitePolicy: skip or halt on a NaN/Inf loss or gradient norm (see nonfinite_policy.h).
#include "nonfinite_policy.h"

#include <cmath>
#include <string>

#include "attnlab/train/metric_names.h"
#include "attnlab/train/trainer.h"

namespace attnlab::train {

NonFinitePolicy::NonFinitePolicy(const TrainConfig& config, MetricsSink& sink)
    : config_(config), sink_(sink) {}

bool NonFinitePolicy::admit(int64_t step, double loss, double grad_norm, TrainProgress& progress) {
  if (std::isfinite(loss) && std::isfinite(grad_norm)) {
    progress.consecutive_skips = 0;
    return true;
  }
  const bool loss_finite = std::isfinite(loss);
  const std::string what = std::string(loss_finite ? "gradient norm" : "loss") + " is " +
                           std::to_string(loss_finite ? grad_norm : loss) + " at step " +
                           std::to_string(step);
  sink_.log(step, {{metric::kTrainNonfinite, 1.0}});
  if (config_.nonfinite == "halt") {
    throw NonFiniteError(what + " (policy nonfinite=halt; nothing after step " +
                         std::to_string(step - 1) +
                         " was checkpointed; set train.nonfinite=skip to skip such steps)");
  }
  if (++progress.consecutive_skips >= config_.max_skips) {
    throw NonFiniteError(what + ": " + std::to_string(progress.consecutive_skips) +
                         " steps in a row were skipped (train.max_skips)");
  }
  sink_.note("step " + std::to_string(step + 1) + " skipped: " + what);
  return false;
}

}  // namespace attnlab::train
