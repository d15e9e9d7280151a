// The training loop: micro-batches with gradient accumulation, AdamW with warm-up + cosine,
// gradient clipping, periodic validation, metrics and notes to a MetricsSink (the console's
// progress lines are one: console_sink.h); checkpoints and resume, preemption (stop at a step
// boundary on request), and the non-finite policy (nonfinite_policy.h). A fresh run may start
// from another run's weights (train.init_from) and train only its variants' gate by
// self-distillation (train.distill_gate, gate_distillation.h, docs/DISTILLATION.md).
// It trains whatever Decoder it is given and knows nothing of plugins, YAML, SQLite or stdout.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include <torch/optim/adamw.h>

#include "attnlab/data/loader.h"
#include "attnlab/model/decoder.h"
#include "attnlab/train/checkpoint.h"
#include "attnlab/train/metrics_sink.h"
#include "attnlab/train/optimizer.h"
#include "attnlab/train/train_config.h"

namespace attnlab::dist {
class Communicator;  // attnlab/dist/communicator.h
}

namespace attnlab::train {

class RankSync;  // rank_sync.h (private): the data-parallel part of a step

struct TrainResult {
  int64_t steps = 0;               // steps completed (equals config steps unless preempted)
  int64_t resumed_from = -1;       // the step a checkpoint resumed at, -1 for a fresh start
  bool preempted = false;          // stopped on request after checkpointing
  double final_train_loss = 0.0;
  double final_val_loss = 0.0;
  double final_distill_loss = 0.0, final_distill_recall = 0.0;  // train.distill_gate only
  double tokens_per_s_mean = 0.0;  // over the steps this process ran, its first one excluded
  double wall_s = 0.0;
};

// A NaN/Inf loss or gradient norm under policy `halt`, or too many skipped steps.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TrainerOptions {
  CheckpointManager* checkpoints = nullptr;  // null: no checkpoints, no resume
  std::string config_fingerprint;            // must match a checkpoint to resume from it
  std::string code_version;
  const std::atomic<bool>* stop_requested = nullptr;  // checked after every step
  // Data-parallel training (null: one process). Every rank runs the same Trainer on its share
  // of the data; gradients, losses and the stop decision are agreed over ranks; only rank 0
  // saves checkpoints (every rank loads them to resume).
  dist::Communicator* dist = nullptr;
  // MFU (train/mfu, per device) = flops_per_token * tokens/s / (peak_flops * world size);
  // not logged when peak_flops is 0.
  double flops_per_token = 0.0;
  double peak_flops = 0.0;
  // Where the model already is and batches go (device::place_on); forward passes run under
  // autocast when config.dtype is bf16 (autocast_scope.h).
  torch::Device device = torch::kCPU;
  // Called once, after this process's first step (e.g. to record which kernels it used).
  std::function<void()> after_first_step;
  // The variants' plugin, named in error messages ("" = "the attention variant").
  std::string attention_plugin;
};

class Trainer {
 public:
  Trainer(model::Decoder model, TrainConfig config, data::TokenLoader& train_data,
          const data::ValidationSet& val_data, MetricsSink& sink, TrainerOptions options);
  TrainResult run();
  // Mean loss over the whole validation set (no gradients).
  double evaluate();

 private:
  // What forward_backward measured; the update is still to be applied.
  struct StepStats {
    double lr = 0.0, loss = 0.0, grad_norm = 0.0;
    bool stop = false;  // a stop was requested (agreed over ranks)
    bool has_aux = false;  // some variant returned an auxiliary loss (mean in aux_loss)
    double aux_loss = 0.0;
    double distill_loss = 0.0, distill_recall = 0.0;  // train.distill_gate: means over layers
  };
  // The checkpoint's progress (and the sink truncated after it), or a fresh start (from
  // train.init_from's weights when set).
  TrainProgress resume(torch::optim::AdamW& optimizer, TrainResult& result);
  // Loads train.init_from's weights (the gate's parameters keep theirs under distill_gate).
  void initialise_weights();
  // train.steps=0: validates the loaded weights at step 0 and checkpoints them (a fresh start).
  void keep_initial_weights(const torch::optim::Optimizer& optimizer,
                            const TrainProgress& progress, TrainResult& result);
  // Forward and backward over grad_accum micro-batches, gradients agreed over ranks, clipped.
  // The variants' auxiliary losses are added with weight aux_loss_weight; under distill_gate
  // only the gate distillation loss is back-propagated (the LM loss is measured).
  StepStats forward_backward(int64_t step, Optimizer& optimizer, RankSync& sync);
  // A batch on the device: tokens [B, T+1] as int64 and, when the data masks its loss
  // (data.kind mqar), which targets count [B, T] as bool (undefined: all of them).
  struct Batch {
    torch::Tensor tokens_BT1, loss_mask_BT;
  };
  // The loss of one batch (inputs and shifted targets; the mean over the targets that count)
  // on the device, under autocast.
  torch::Tensor batch_loss(const Batch& batch);
  // The next training batch.
  Batch next_batch();
  // The train/* scalars of an applied step (train/mfu only with a peak).
  MetricValues step_metrics(const StepStats& stats, double step_s, double tokens_per_s,
                            const TrainProgress& progress, int world_size) const;
  // The variants' statistics of this step's last forward (and the attention entropy), this
  // rank's: attn/<name> as the mean over layers into `record`, per layer as an evaluation.
  void log_attention_statistics(int64_t step, MetricValues& record);
  // Validation loss, with the gates' per-layer means logged as an evaluation when there are some.
  double validate(int64_t step);
  void save_checkpoint(const torch::optim::Optimizer& optimizer, const TrainProgress& progress);
  bool writes_checkpoints() const;  // rank 0 of a data-parallel run, or a single process

  model::Decoder model_;
  TrainConfig config_;
  data::TokenLoader& train_data_;
  const data::ValidationSet& val_data_;
  MetricsSink& sink_;
  TrainerOptions options_;
  c10::ScalarType compute_dtype_;  // config_.dtype: kFloat, or kBFloat16 under autocast
};

}  // namespace attnlab::train
