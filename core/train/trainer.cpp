// The training loop (see trainer.h): resume, then per step forward/backward, the non-finite
// policy, the update, metrics, validation and checkpoints on their cadence, a stop request.
#include "attnlab/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "attnlab/device/device.h"
#include "attnlab/dist/communicator.h"
#include "attnlab/train/autocast_scope.h"
#include "attnlab/train/lr_schedule.h"
#include "attnlab/train/metric_names.h"
#include "attnlab/train/mfu.h"
#include "attnlab/train/optimizer.h"
#include "gate_distillation.h"
#include "nonfinite_policy.h"
#include "rank_sync.h"

namespace attnlab::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Mean tokens/s of the steps a process ran, its first one excluded (it pays for warm-up).
class ThroughputMean {
 public:
  explicit ThroughputMean(int64_t first_step) : first_step_(first_step) {}
  void add(int64_t step, double tokens_per_s) {
    if (step == first_step_) return;
    sum_ += tokens_per_s;
    ++n_;
  }
  double mean() const { return n_ ? sum_ / n_ : 0.0; }

 private:
  int64_t first_step_;
  double sum_ = 0.0;
  int64_t n_ = 0;
};

// Mean cross-entropy of the targets where mask_BT is true, in fp32 from the full logits (the
// masked data, MQAR, has a small vocabulary; the chunked loss counts every target).
torch::Tensor masked_lm_loss(const torch::Tensor& logits_BTV, const torch::Tensor& targets_BT,
                             const torch::Tensor& mask_BT) {
  const auto keep_N = mask_BT.reshape({-1}).nonzero().squeeze(1);
  const auto logits_NV = logits_BTV.reshape({-1, logits_BTV.size(-1)}).index_select(0, keep_N);
  return torch::nn::functional::cross_entropy(logits_NV.to(torch::kFloat),
                                              targets_BT.reshape({-1}).index_select(0, keep_N));
}

}  // namespace

Trainer::Trainer(model::Decoder model, TrainConfig config, data::TokenLoader& train_data,
                 const data::ValidationSet& val_data, MetricsSink& sink, TrainerOptions options)
    : model_(std::move(model)), config_(std::move(config)), train_data_(train_data),
      val_data_(val_data), sink_(sink), options_(std::move(options)),
      compute_dtype_(parse_train_dtype(config_.dtype)) {}

TrainResult Trainer::run() {
  if (config_.distill_gate) start_gate_distillation(*model_, options_.attention_plugin);
  auto optimizer = make_adamw(*model_, config_, model_->grouped_parameters());
  TrainResult result;
  TrainProgress progress = resume(*optimizer.adamw, result);
  RankSync sync(options_.dist, *model_, progress.next_step, config_, sink_);
  NonFinitePolicy nonfinite(config_, sink_);
  const int64_t tokens_per_step = config_.tokens_per_step(sync.world_size());
  ThroughputMean throughput(progress.next_step);
  const int64_t progress_start = progress.next_step;
  model_->train();
  const auto t_start = Clock::now();
  device::StepTimer timer(options_.device);
  for (int64_t step = progress.next_step; step < config_.steps; ++step) {
    timer.start();
    const bool log_statistics = config_.logs_statistics_after(step);
    model_->set_measure_entropy(log_statistics);
    const StepStats stats = forward_backward(step, optimizer, sync);
    model_->set_measure_entropy(false);
    progress.next_step = step + 1;
    progress.loader = train_data_.position();
    MetricValues record;
    if (nonfinite.admit(step, stats.loss, stats.grad_norm, progress)) {
      optimizer.adamw->step();
      progress.tokens_seen += tokens_per_step;
      const double step_s = timer.stop_seconds();
      const double tokens_per_s = tokens_per_step / step_s;
      throughput.add(step, tokens_per_s);
      record = step_metrics(stats, step_s, tokens_per_s, progress, sync.world_size());
      if (log_statistics) log_attention_statistics(step, record);
      result.final_train_loss = stats.loss;
      result.final_distill_loss = stats.distill_loss;
      result.final_distill_recall = stats.distill_recall;
    }
    result.steps = step + 1;
    if (step == progress_start && options_.after_first_step) options_.after_first_step();
    if (config_.evaluates_after(step)) {
      result.final_val_loss = validate(step);
      record.emplace_back(metric::kValLoss, result.final_val_loss);
    }
    if (!record.empty()) sink_.log(step, record);
    if (config_.checkpoints_after(step) || stats.stop) save_checkpoint(*optimizer.adamw, progress);
    if (stats.stop && !config_.is_last(step)) {
      result.preempted = true;
      sink_.note("stopping on request after step " + std::to_string(step + 1) + " (checkpointed)");
      break;
    }
  }
  if (config_.steps == 0) keep_initial_weights(*optimizer.adamw, progress, result);
  if (config_.distill_gate && !result.preempted) {
    sink_.info(metric::kInfoFinalDistillLoss, result.final_distill_loss);
    sink_.info(metric::kInfoFinalDistillRecall, result.final_distill_recall);
  }
  result.wall_s = seconds_since(t_start);
  result.tokens_per_s_mean = throughput.mean();
  return result;
}

TrainProgress Trainer::resume(torch::optim::AdamW& optimizer, TrainResult& result) {
  const auto meta = options_.checkpoints ? options_.checkpoints->load_latest(
                                               *model_, optimizer, options_.config_fingerprint)
                                         : std::nullopt;
  if (!meta) {  // a fresh start (or --restart): an earlier attempt's rows go
    if (options_.checkpoints) sink_.truncate_after(-1);
    if (!config_.init_from.empty()) initialise_weights();
    return {};
  }
  move_optimizer_state_to(optimizer, options_.device);
  const int64_t next_step = meta->progress.next_step;
  train_data_.seek(meta->progress.loader);
  result.resumed_from = next_step;
  result.steps = next_step;  // the steps completed, also when the checkpoint is the last one
  sink_.truncate_after(next_step - 1);  // the interrupted run's later rows go
  sink_.note("resumed from the checkpoint at step " + std::to_string(next_step));
  return meta->progress;
}

void Trainer::initialise_weights() {
  const auto keep_own = config_.distill_gate ? gate_parameter_names(*model_) : std::set<std::string>{};
  const auto from = load_model_weights(config_.init_from, *model_, keep_own);
  sink_.info(metric::kInfoInitFrom, {{"file", from.file.string()}, {"step", from.step}});
  sink_.note("initialised the weights from " + from.file.string() + " (step " +
             std::to_string(from.step) + " of its run)" +
             (keep_own.empty() ? "" : "; the " + std::to_string(keep_own.size()) +
                                          " gate parameters keep their fresh initialisation"));
}

// train.steps=0 (with train.init_from, spec/flop_budget.cpp): the loaded weights are the run's
// result, validated and checkpointed as step 0. A rerun resumed from that checkpoint validates
// again and keeps it.
void Trainer::keep_initial_weights(const torch::optim::Optimizer& optimizer,
                                   const TrainProgress& progress, TrainResult& result) {
  result.final_val_loss = validate(0);
  sink_.log(0, {{metric::kValLoss, result.final_val_loss}});
  if (result.resumed_from < 0) save_checkpoint(optimizer, progress);
}

Trainer::StepStats Trainer::forward_backward(int64_t step, Optimizer& optimizer, RankSync& sync) {
  const auto& c = config_;
  StepStats stats;
  stats.lr = lr_at(step, c.steps, c.lr, c.warmup_steps, c.min_lr_ratio);
  optimizer.set_learning_rate(stats.lr);
  optimizer.adamw->zero_grad();
  // The micro-batch losses add up on the device: one host sync per step, not per micro-batch.
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(options_.device);
  auto loss_sum = torch::zeros({}, f64), aux_sum = torch::zeros({}, f64);
  auto distill_sum_2 = torch::zeros({2}, f64);  // distillation loss, recall
  for (int64_t micro = 0; micro < c.grad_accum; ++micro) {
    auto loss = batch_loss(next_batch());
    if (step == c.inject_nonfinite_step) loss = loss * std::nan("");
    const auto aux = model_->aux_loss();  // the variants' auxiliary losses of this forward
    sync.begin_backward(micro + 1 == c.grad_accum);
    torch::Tensor objective = aux.defined() ? loss + c.aux_loss_weight * aux : loss;
    if (c.distill_gate) {  // the gate learns the teacher; the LM loss is only measured
      const auto distill = model_->gate_distillation();
      objective = distill.loss;
      distill_sum_2 += torch::stack({distill.loss.detach(), distill.recall}).to(torch::kFloat64);
    }
    (objective / static_cast<double>(c.grad_accum)).backward();
    loss_sum += loss.detach();
    if (aux.defined()) {
      aux_sum += aux.detach();
      stats.has_aux = true;
    }
  }
  stats.stop = options_.stop_requested && options_.stop_requested->load();
  std::vector<double> sums = {loss_sum.item<double>()};
  if (c.distill_gate) {
    const auto host_2 = distill_sum_2.cpu();
    sums.push_back(host_2[0].item<double>());
    sums.push_back(host_2[1].item<double>());
  }
  const auto means = sync.finish_step(step, sums, stats.stop);
  stats.loss = means[0] / c.grad_accum;
  if (c.distill_gate) {
    stats.distill_loss = means[1] / c.grad_accum;
    stats.distill_recall = means[2] / c.grad_accum;
  }
  if (stats.has_aux) stats.aux_loss = aux_sum.item<double>() / c.grad_accum;
  stats.grad_norm = torch::nn::utils::clip_grad_norm_(
      model_->parameters(),
      c.grad_clip > 0 ? c.grad_clip : std::numeric_limits<double>::infinity());
  return stats;
}

torch::Tensor Trainer::batch_loss(const Batch& batch) {
  const int64_t T = config_.seq_len;
  AutocastScope autocast(options_.device, compute_dtype_);
  const auto idx_BT = batch.tokens_BT1.narrow(1, 0, T), targets_BT = batch.tokens_BT1.narrow(1, 1, T);
  if (!batch.loss_mask_BT.defined()) return model_->loss(idx_BT, targets_BT);
  return masked_lm_loss(model_->forward(idx_BT), targets_BT, batch.loss_mask_BT);
}

Trainer::Batch Trainer::next_batch() {
  // A fresh staging buffer per batch: LibTorch's pinned-memory cache hands a block out again
  // only after the copies queued from it are done, so the loader never overwrites a batch in
  // flight.
  const int64_t B = config_.batch_size, T = config_.seq_len;
  auto host_N = device::host_staging_int32(B * (T + 1), options_.device);
  if (!train_data_.masks_loss()) {
    train_data_.next(host_N.data_ptr<int32_t>());
    return {device::tokens_on(host_N.view({B, T + 1}), options_.device), {}};
  }
  auto mask_BT = torch::empty({B, T}, torch::kUInt8);
  train_data_.next(host_N.data_ptr<int32_t>(), mask_BT.data_ptr<uint8_t>());
  return {device::tokens_on(host_N.view({B, T + 1}), options_.device),
          mask_BT.to(options_.device, torch::kBool)};
}

MetricValues Trainer::step_metrics(const StepStats& stats, double step_s, double tokens_per_s,
                                   const TrainProgress& progress, int world_size) const {
  MetricValues values = {{metric::kTrainLoss, stats.loss},
                         {metric::kTrainLr, stats.lr},
                         {metric::kTrainGradNorm, stats.grad_norm},
                         {metric::kTrainTokensPerS, tokens_per_s},
                         {metric::kTrainStepTimeS, step_s},
                         {metric::kTrainTokens, static_cast<double>(progress.tokens_seen)}};
  if (stats.has_aux) values.emplace_back(metric::kTrainAuxLoss, stats.aux_loss);
  if (config_.distill_gate) {
    values.emplace_back(metric::kTrainDistillLoss, stats.distill_loss);
    values.emplace_back(metric::kTrainDistillRecall, stats.distill_recall);
  }
  if (options_.peak_flops > 0) {  // MFU against the peak of every device of the run
    values.emplace_back(metric::kTrainMfu,
                        model_flops_utilisation(options_.flops_per_token, tokens_per_s,
                                                options_.peak_flops * world_size));
  }
  return values;
}

void Trainer::log_attention_statistics(int64_t step, MetricValues& record) {
  for (const auto& [name, per_layer] : model_->attention_statistics()) {
    nlohmann::json layers = nlohmann::json::array();
    double sum = 0.0;
    int n = 0;
    for (const auto& value : per_layer) {
      layers.push_back(value ? nlohmann::json(*value) : nlohmann::json());
      if (value) sum += *value, ++n;
    }
    const std::string metric_name = metric::kAttnPrefix + name;
    record.emplace_back(metric_name, sum / n);  // the mean over the layers that reported it
    sink_.eval(step, metric_name, layers);
  }
}

double Trainer::evaluate() {
  torch::NoGradGuard no_grad;
  model_->eval();
  if (config_.distill_gate) model_->set_gate_distillation(false);  // no teacher needed
  double total = 0.0;
  const size_t n = val_data_.n_batches();
  auto tokens_BT1 = torch::empty({config_.batch_size, config_.seq_len + 1}, torch::kInt32);
  auto mask_BT = torch::empty({config_.batch_size, config_.seq_len}, torch::kUInt8);
  const bool masked = val_data_.masks_loss();
  for (size_t i = 0; i < n; ++i) {
    val_data_.batch(i, tokens_BT1.data_ptr<int32_t>(), masked ? mask_BT.data_ptr<uint8_t>() : nullptr);
    Batch batch{tokens_BT1.to(options_.device, torch::kInt64),
                masked ? mask_BT.to(options_.device, torch::kBool) : torch::Tensor()};
    total += batch_loss(batch).item<double>();
  }
  model_->train();
  if (config_.distill_gate) model_->set_gate_distillation(true);
  if (options_.dist) {  // the mean over every rank's batches
    const auto sums = options_.dist->allreduce_sum({total, static_cast<double>(n)});
    return sums[1] > 0 ? sums[0] / sums[1] : std::nan("");
  }
  return n ? total / n : std::nan("");
}

double Trainer::validate(int64_t step) {
  const double val_loss = evaluate();
  const auto gate_mean_LH = model_->gate_activations();
  if (!gate_mean_LH.empty()) sink_.eval(step, metric::kGateMean, gate_mean_LH);
  return val_loss;
}

void Trainer::save_checkpoint(const torch::optim::Optimizer& optimizer,
                              const TrainProgress& progress) {
  if (!options_.checkpoints || !writes_checkpoints()) return;
  CheckpointMeta meta{progress, options_.config_fingerprint, options_.code_version};
  const auto path = options_.checkpoints->save(*model_, optimizer, meta);
  sink_.note("checkpoint " + path.filename().string());
}

bool Trainer::writes_checkpoints() const { return !options_.dist || options_.dist->rank() == 0; }

}  // namespace attnlab::train
