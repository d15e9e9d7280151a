// RankSync: start agreement, overlapped gradient all-reduce, loss/stop agreement and the
// watchdog of a data-parallel step (see rank_sync.h).
#include "rank_sync.h"

#include <chrono>
#include <stdexcept>
#include <string>

#include "attnlab/dist/communicator.h"
#include "attnlab/dist/grad_sync.h"
#include "attnlab/dist/watchdog.h"
#include "attnlab/train/metric_names.h"

namespace attnlab::train {

RankSync::RankSync(dist::Communicator* comm, torch::nn::Module& model, int64_t next_step,
                   const TrainConfig& config, MetricsSink& sink)
    : comm_(comm), sink_(sink) {
  if (!comm_) return;
  agree_on_start(model, next_step);
  const auto reduce_dtype = config.grad_reduce_dtype == "bf16"
                                ? c10::optional<torch::Dtype>(torch::kBFloat16)
                                : c10::nullopt;
  std::vector<torch::Tensor> trainable;  // frozen parameters (train.distill_gate) get no grads
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  grad_sync_ = std::make_unique<dist::GradientSync>(*comm_, std::move(trainable), reduce_dtype);
  watchdog_ = std::make_unique<dist::Watchdog>(std::chrono::seconds(2 * config.dist_timeout_s),
                                               comm_->rank());
}

RankSync::~RankSync() = default;

int RankSync::world_size() const { return comm_ ? comm_->world_size() : 1; }

void RankSync::agree_on_start(torch::nn::Module& model, int64_t next_step) {
  const double step = static_cast<double>(next_step);
  const auto max = comm_->allreduce_max({step, -step});
  if (max[0] != -max[1]) {
    throw std::runtime_error(
        "rank " + std::to_string(comm_->rank()) + " resumes at step " +
        std::to_string(next_step) + " but the ranks disagree (steps " +
        std::to_string(static_cast<int64_t>(-max[1])) + " to " +
        std::to_string(static_cast<int64_t>(max[0])) +
        "): every rank must see rank 0's checkpoints; put the results directory on a shared "
        "filesystem (docs/DISTRIBUTED.md)");
  }
  comm_->broadcast_module(model);
}

void RankSync::begin_backward(bool last) {
  if (grad_sync_) grad_sync_->begin_backward(last);
}

std::vector<double> RankSync::finish_step(int64_t step, std::vector<double> sums, bool& stop) {
  if (!comm_) return sums;
  dist::dist_fault_point(comm_->rank(), step);
  grad_sync_->finish();
  const bool is_rank0 = comm_->rank() == 0;
  sums.push_back(is_rank0 && stop ? 1.0 : 0.0);
  auto means = comm_->allreduce_sum(sums);
  stop = means.back() > 0;
  means.pop_back();
  for (auto& mean : means) mean /= world_size();
  watchdog_->pet();
  sink_.log(step, {{metric::kGradSyncExposedS, grad_sync_->exposed_s()}});
  return means;
}

}  // namespace attnlab::train
