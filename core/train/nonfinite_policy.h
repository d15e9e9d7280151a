// The non-finite policy (train.nonfinite, train.max_skips): what a step whose loss or gradient
// norm is NaN/Inf does. Its update never reaches the weights or the optimizer state; the step
// still counts (its batch is consumed) and still evaluates, checkpoints and honours a stop
// request.
#pragma once
#include <cstdint>

#include "attnlab/train/checkpoint.h"
#include "attnlab/train/metrics_sink.h"
#include "attnlab/train/train_config.h"

namespace attnlab::train {

class NonFinitePolicy {
 public:
  NonFinitePolicy(const TrainConfig& config, MetricsSink& sink);
  // True for a finite step: its update applies and progress.consecutive_skips restarts at 0.
  // Otherwise logs train/nonfinite and then throws NonFiniteError under nonfinite=halt or once
  // max_skips steps in a row were skipped, or notes "step N skipped: ..." and returns false.
  bool admit(int64_t step, double loss, double grad_norm, TrainProgress& progress);

 private:
  const TrainConfig& config_;
  MetricsSink& sink_;
};

}  // namespace attnlab::train
