// What `train:` in a config holds: optimisation, schedule, evaluation and device settings.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "attnlab/config/schema.h"

namespace attnlab::train {

// What train.param_groups.<group> sets for the parameters a variant puts in <group>
// (AttentionVariant::parameter_group): their learning rate is the schedule's times lr_scale;
// their weight decay is weight_decay, or, when unset, the model's rule (train.weight_decay on
// matrices, none on 1-D parameters).
struct ParamGroupRule {
  double lr_scale = 1.0;
  std::optional<double> weight_decay;
};

struct TrainConfig {
  int64_t steps = 0;          // optimizer steps (chosen by flop_budget when that is set)
  double flop_budget = 0.0;   // isoFLOP runs: the run's training FLOPs; 0 = off
  int64_t batch_size = 0;     // B sequences per micro-batch (per rank)
  int64_t seq_len = 0;        // T tokens per sequence
  int64_t grad_accum = 1;     // micro-batches per optimizer step
  double lr = 0.0;            // peak learning rate
  double min_lr_ratio = 0.0;  // cosine decays to lr * min_lr_ratio
  int64_t warmup_steps = 0;
  double weight_decay = 0.0;  // AdamW; never on 1-D parameters (norms, biases)
  double beta1 = 0.0, beta2 = 0.0, adam_eps = 0.0;
  double grad_clip = 0.0;     // max global grad norm; 0 disables clipping
  double aux_loss_weight = 0.0;  // times the variants' auxiliary losses, added to the loss
  std::map<std::string, ParamGroupRule> param_groups;  // by group name (see ParamGroupRule)
  double peak_flops = 0.0;    // one device's peak FLOP/s for MFU; 0: probe (cached per machine)
  int64_t eval_every = 0;     // steps between validation passes (and always at the end)
  int64_t log_every = 1;      // steps between progress lines on stdout
  int64_t threads = 0;        // intra-op threads; 0 = every core of the machine
  std::string device;         // "cpu", "cuda" or "cuda:N" (device::parse_device)
  std::string dtype;          // "fp32" or "bf16" (autocast, fp32 master weights)
  std::string grad_reduce_dtype = "fp32";  // data-parallel gradients travel in fp32 or bf16
  int64_t checkpoint_every = 0;   // steps between checkpoints; 0 = only at the end / on SIGTERM
  int64_t keep_checkpoints = 2;   // newest checkpoints kept
  std::string nonfinite;          // "halt" or "skip": what a NaN/Inf loss or grad norm does
  int64_t max_skips = 0;          // policy skip: abort after this many skipped steps in a row
  int64_t inject_nonfinite_step = -1;  // testing: make this step's loss NaN (-1: never)
  int64_t dist_timeout_s = 600;   // data-parallel runs: collective timeout (and watchdog)
  // Before step 1 of a fresh run, the model's weights (only) from this checkpoint: a step_*.ckpt
  // file, a checkpoints/ folder or a run folder (its newest verified checkpoint). "" = none.
  std::string init_from;
  // Self-distillation of the variants' gate (docs/DISTILLATION.md): only the parameters in
  // group "gate" train, on the mean over layers of the variants' distillation loss; needs
  // init_from (checked here).
  bool distill_gate = false;

  static TrainConfig from_json(const nlohmann::json& train_section);
  int64_t tokens_per_step(int world_size = 1) const {
    return batch_size * seq_len * grad_accum * world_size;
  }
  // The cadence, for `step` counted from 0: validation every eval_every steps, checkpoints
  // every checkpoint_every steps, and both after the last step.
  bool is_last(int64_t step) const { return step + 1 == steps; }
  bool evaluates_after(int64_t step) const {
    return is_last(step) || (eval_every > 0 && (step + 1) % eval_every == 0);
  }
  // The variants' statistics and the attention entropy are measured every log_every steps.
  bool logs_statistics_after(int64_t step) const {
    return is_last(step) || (step + 1) % log_every == 0;
  }
  bool checkpoints_after(int64_t step) const {
    return is_last(step) || (checkpoint_every > 0 && (step + 1) % checkpoint_every == 0);
  }
};

config::SectionSchema train_schema();

}  // namespace attnlab::train
