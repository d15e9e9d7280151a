// TrainConfig parsing and the `train` section schema.
#include "attnlab/train/train_config.h"

namespace attnlab::train {

namespace {

// train.param_groups: {<group>: {lr_scale: x, weight_decay: y}}, each key checked by name.
std::map<std::string, ParamGroupRule> parse_param_groups(const nlohmann::json& groups) {
  std::map<std::string, ParamGroupRule> rules;
  for (const auto& [name, entry] : groups.items()) {
    const std::string key = "train.param_groups." + name;
    if (!entry.is_object()) {
      throw config::ConfigError(key, {}, "must be a map with lr_scale and/or weight_decay, got " +
                                             entry.dump());
    }
    ParamGroupRule rule;
    for (const auto& [field, value] : entry.items()) {
      const bool known = field == "lr_scale" || field == "weight_decay";
      if (!known) {
        throw config::ConfigError(key + "." + field, {},
                                  "unknown key; a parameter group takes lr_scale and weight_decay");
      }
      if (!value.is_number() || value.get<double>() < 0 ||
          (field == "lr_scale" && value.get<double>() == 0)) {
        throw config::ConfigError(key + "." + field, {},
                                  "must be a number " +
                                      std::string(field == "lr_scale" ? "> 0" : ">= 0") +
                                      ", got " + value.dump());
      }
      if (field == "lr_scale") rule.lr_scale = value.get<double>();
      if (field == "weight_decay") rule.weight_decay = value.get<double>();
    }
    rules[name] = rule;
  }
  return rules;
}

}  // namespace

TrainConfig TrainConfig::from_json(const nlohmann::json& t) {
  TrainConfig c;
  c.steps = t.at("steps").get<int64_t>();
  c.flop_budget = t.at("flop_budget").get<double>();
  c.batch_size = t.at("batch_size").get<int64_t>();
  c.seq_len = t.at("seq_len").get<int64_t>();
  c.grad_accum = t.at("grad_accum").get<int64_t>();
  c.lr = t.at("lr").get<double>();
  c.min_lr_ratio = t.at("min_lr_ratio").get<double>();
  c.warmup_steps = t.at("warmup_steps").get<int64_t>();
  c.weight_decay = t.at("weight_decay").get<double>();
  c.beta1 = t.at("beta1").get<double>();
  c.beta2 = t.at("beta2").get<double>();
  c.adam_eps = t.at("adam_eps").get<double>();
  c.grad_clip = t.at("grad_clip").get<double>();
  c.aux_loss_weight = t.at("aux_loss_weight").get<double>();
  c.param_groups = parse_param_groups(t.at("param_groups"));
  c.peak_flops = t.at("peak_flops").get<double>();
  c.eval_every = t.at("eval_every").get<int64_t>();
  c.log_every = t.at("log_every").get<int64_t>();
  c.threads = t.at("threads").get<int64_t>();
  c.device = t.at("device").get<std::string>();
  c.dtype = t.at("dtype").get<std::string>();
  c.grad_reduce_dtype = t.at("grad_reduce_dtype").get<std::string>();
  c.checkpoint_every = t.at("checkpoint_every").get<int64_t>();
  c.keep_checkpoints = t.at("keep_checkpoints").get<int64_t>();
  c.nonfinite = t.at("nonfinite").get<std::string>();
  c.max_skips = t.at("max_skips").get<int64_t>();
  c.inject_nonfinite_step = t.at("inject_nonfinite_step").get<int64_t>();
  c.dist_timeout_s = t.at("dist_timeout_s").get<int64_t>();
  c.init_from = t.at("init_from").get<std::string>();
  c.distill_gate = t.at("distill_gate").get<bool>();
  if (c.distill_gate && c.init_from.empty()) {
    throw config::ConfigError("train.init_from", {},
                              "train.distill_gate=true distils a gate inside a trained model: set "
                              "train.init_from to that run's checkpoint (a step_*.ckpt file, its "
                              "checkpoints/ folder or its run folder under results/runs/)");
  }
  return c;
}

config::SectionSchema train_schema() {
  using config::ValueType;
  const double inf = std::numeric_limits<double>::infinity();
  config::SectionSchema s;
  s.path = "train";
  s.owner = "trainer";
  s.keys = {
      {"steps", ValueType::Int, nullptr, 0, inf, {},
       "optimizer steps; 0 = chosen by train.flop_budget, or, with train.init_from and no "
       "budget, no step: the loaded weights are validated, checkpointed and evaluated as they are"},
      {"flop_budget", ValueType::Float, 0.0, 0.0, inf, {},
       "isoFLOP runs: the run's training FLOPs (all ranks); with train.steps=0 the steps are "
       "the budget / (FLOPs per token x tokens per step), rounded to whole steps, FLOPs per "
       "token being the model's count with the variant's attention at train.seq_len "
       "(docs/ISOFLOP.md); 0 = off"},
      {"batch_size", ValueType::Int, nullptr, 1, inf, {}, "sequences per micro-batch and rank"},
      {"seq_len", ValueType::Int, nullptr, 2, 1 << 20, {}, "tokens per sequence (T)"},
      {"grad_accum", ValueType::Int, 1, 1, inf, {}, "micro-batches per optimizer step"},
      {"lr", ValueType::Float, nullptr, 0.0, 10.0, {}, "peak learning rate"},
      {"min_lr_ratio", ValueType::Float, 0.1, 0.0, 1.0, {},
       "the cosine schedule decays to lr * min_lr_ratio"},
      {"warmup_steps", ValueType::Int, 0, 0, inf, {}, "linear warm-up steps before cosine decay"},
      {"weight_decay", ValueType::Float, 0.1, 0.0, 10.0, {},
       "AdamW decoupled weight decay (never on norms, biases or other 1-D parameters)"},
      {"beta1", ValueType::Float, 0.9, 0.0, 1.0, {}, "AdamW beta1"},
      {"beta2", ValueType::Float, 0.95, 0.0, 1.0, {}, "AdamW beta2"},
      {"adam_eps", ValueType::Float, 1e-8, 0.0, 1.0, {}, "AdamW epsilon"},
      {"grad_clip", ValueType::Float, 1.0, 0.0, inf, {},
       "clip the global gradient norm to this value; 0 disables clipping"},
      {"aux_loss_weight", ValueType::Float, 0.01, 0.0, inf, {},
       "weight of the attention variants' auxiliary losses (summed over layers) in the "
       "training loss; logged apart as train/aux_loss"},
      {"param_groups", ValueType::Map, nlohmann::json::object(), -inf, inf, {},
       "per parameter group a variant declares (e.g. gate): {lr_scale: x, weight_decay: y}; "
       "lr_scale multiplies the schedule's rate, weight_decay replaces the model's rule"},
      {"eval_every", ValueType::Int, 0, 0, inf, {},
       "steps between validation passes; 0 = only after the last step"},
      {"log_every", ValueType::Int, 10, 1, inf, {}, "steps between progress lines"},
      {"threads", ValueType::Int, 0, 0, 4096, {}, "intra-op CPU threads; 0 = all cores"},
      {"peak_flops", ValueType::Float, 0.0, 0.0, inf, {},
       "one device's peak FLOP/s for the MFU the trainer logs; 0 = measure it once per machine "
       "and thread count with a matmul probe (cached in peak_flops.json beside the results "
       "db); set it for GPUs, e.g. 989e12 (H100 SXM dense bf16)"},
      {"device", ValueType::String, "cpu", -inf, inf, {},
       "where to train: cpu, cuda (this process's GPU: --devices, LOCAL_RANK or SLURM_LOCALID "
       "picks it) or cuda:N; cuda needs a CUDA build (docs/GPU.md)"},
      {"dtype", ValueType::String, "fp32", -inf, inf, {"fp32", "bf16"},
       "compute precision; bf16 = autocast (CPU or CUDA) with fp32 master weights, "
       "optimizer state and loss"},
      {"grad_reduce_dtype", ValueType::String, "fp32", -inf, inf, {"fp32", "bf16"},
       "data-parallel runs: the dtype gradients are all-reduced in; bf16 halves the traffic "
       "(the mean lands in the fp32 gradients; NCCL, train.device=cuda, only)"},
      {"checkpoint_every", ValueType::Int, 0, 0, inf, {},
       "steps between checkpoints; 0 = only after the last step and on SIGTERM/SIGINT"},
      {"keep_checkpoints", ValueType::Int, 2, 1, 1000, {}, "how many newest checkpoints to keep"},
      {"nonfinite", ValueType::String, "halt", -inf, inf, {"halt", "skip"},
       "on a NaN/Inf loss or gradient norm: halt (mark the run failed) or skip the update"},
      {"max_skips", ValueType::Int, 5, 1, inf, {},
       "with nonfinite=skip: fail the run after this many skipped steps in a row"},
      {"inject_nonfinite_step", ValueType::Int, -1, -1, inf, {},
       "testing the policy: this step's loss becomes NaN (-1 = never)"},
      {"dist_timeout_s", ValueType::Int, 600, 1, inf, {},
       "data-parallel runs: seconds a collective may wait for the other ranks before the run "
       "fails (a dead or hung rank); the watchdog ends a rank after twice this"},
      {"init_from", ValueType::String, "", -inf, inf, {},
       "start from another run's weights (only: not its optimizer or data position): a "
       "step_*.ckpt file, a checkpoints/ folder or a run folder, whose newest verified "
       "checkpoint is used; matched by parameter name and shape; a run resuming from its own "
       "checkpoint ignores it; \"\" = a fresh initialisation"},
      {"distill_gate", ValueType::Bool, false, -inf, inf, {},
       "self-distillation of the attention variant's gate (docs/DISTILLATION.md): every "
       "parameter outside group gate is frozen and the gate learns the dense attention's "
       "block map of the model loaded by train.init_from (required); train/loss is still "
       "logged; needs a variant that supports it (block_gate)"},
  };
  return s;
}

}  // namespace attnlab::train
