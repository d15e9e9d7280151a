// RankSync: the data-parallel part of a training step. Without a communicator (one process)
// every call passes through. With one: at construction the ranks check that they resume at the
// same step and take rank 0's weights; gradients are then all-reduced while backward runs
// (dist::GradientSync), one collective per step agrees on the loss and on stopping (rank 0
// decides), and a watchdog ends a rank whose steps stop finishing.
#pragma once
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "attnlab/train/metrics_sink.h"
#include "attnlab/train/train_config.h"

namespace attnlab::dist {
class Communicator;
class GradientSync;
class Watchdog;
}  // namespace attnlab::dist

namespace attnlab::train {

class RankSync {
 public:
  // Gradients travel in `config.grad_reduce_dtype`; collectives wait config.dist_timeout_s.
  RankSync(dist::Communicator* comm, torch::nn::Module& model, int64_t next_step,
           const TrainConfig& config, MetricsSink& sink);
  ~RankSync();
  int world_size() const;
  // Before each micro-batch's backward; `last` on the one that completes the step.
  void begin_backward(bool last);
  // After the last backward of `step`: every rank holds the rank-mean gradients of the
  // trainable parameters (requires_grad; frozen ones are not synced); returns the mean over
  // ranks of each of `sums` (the loss sum first; more scalars ride the same collective) and
  // sets `stop` to rank 0's decision. Logs the communication backward did not hide
  // (dist/grad_sync_exposed_s).
  std::vector<double> finish_step(int64_t step, std::vector<double> sums, bool& stop);

 private:
  void agree_on_start(torch::nn::Module& model, int64_t next_step);

  dist::Communicator* comm_;
  MetricsSink& sink_;
  std::unique_ptr<dist::GradientSync> grad_sync_;
  std::unique_ptr<dist::Watchdog> watchdog_;
};

}  // namespace attnlab::train
