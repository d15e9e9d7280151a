// The training loop (see trainer.h).
#include "attnlab/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "attnlab/train/distributed.h"
#include "attnlab/train/distributed_grad_sync.h"
#include "attnlab/train/distributed_watchdog.h"
#include "attnlab/train/lr_schedule.h"
#include "attnlab/train/optimizer.h"
#include "attnlab/train/peak_flops.h"

namespace attnlab::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

Trainer::Trainer(model::Decoder model, TrainConfig config, data::TokenLoader& train_data,
                 const data::ValidationSet& val_data, MetricsSink& sink, TrainerOptions options)
    : model_(std::move(model)), config_(std::move(config)), train_data_(train_data),
      val_data_(val_data), sink_(sink), options_(std::move(options)) {}

void Trainer::save_checkpoint(const torch::optim::Optimizer& optimizer,
                              const TrainProgress& progress) {
  if (!options_.checkpoints || !writes_checkpoints()) return;
  CheckpointMeta meta{progress, options_.config_fingerprint, options_.code_version};
  const auto path = options_.checkpoints->save(*model_, optimizer, meta);
  std::printf("%scheckpoint %s\n", options_.log_prefix.c_str(), path.filename().c_str());
}

bool Trainer::writes_checkpoints() const { return !options_.dist || options_.dist->rank() == 0; }

void Trainer::agree_on_start(const TrainProgress& progress) {
  auto& dist = *options_.dist;
  const double step = static_cast<double>(progress.next_step);
  const auto max = dist.allreduce_max({step, -step});
  if (max[0] != -max[1]) {
    throw std::runtime_error(
        "rank " + std::to_string(dist.rank()) + " resumes at step " +
        std::to_string(progress.next_step) + " but the ranks disagree (steps " +
        std::to_string(static_cast<int64_t>(-max[1])) + " to " +
        std::to_string(static_cast<int64_t>(max[0])) +
        "): every rank must see rank 0's checkpoints; put the results directory on a shared "
        "filesystem (docs/DISTRIBUTED.md)");
  }
  dist.broadcast_module(*model_);
}

torch::Tensor Trainer::next_batch_BT1() {
  auto tokens_BT1 = torch::empty({config_.batch_size, config_.seq_len + 1}, torch::kInt32);
  train_data_.next(tokens_BT1.data_ptr<int32_t>());
  return tokens_BT1.to(torch::kInt64);
}

double Trainer::evaluate() {
  torch::NoGradGuard no_grad;
  model_->eval();
  double total = 0.0;
  const size_t n = val_data_.n_batches();
  auto tokens_BT1 = torch::empty({config_.batch_size, config_.seq_len + 1}, torch::kInt32);
  for (size_t i = 0; i < n; ++i) {
    val_data_.batch(i, tokens_BT1.data_ptr<int32_t>());
    auto t_BT1 = tokens_BT1.to(torch::kInt64);
    total += model_->loss(t_BT1.narrow(1, 0, config_.seq_len), t_BT1.narrow(1, 1, config_.seq_len))
                 .item<double>();
  }
  model_->train();
  if (options_.dist) {  // the mean over every rank's batches
    const auto sums = options_.dist->allreduce_sum({total, static_cast<double>(n)});
    return sums[1] > 0 ? sums[0] / sums[1] : std::nan("");
  }
  return n ? total / n : std::nan("");
}

void Trainer::log_gates(int64_t step) {
  nlohmann::json per_layer = nlohmann::json::array();
  bool any = false;
  for (const auto& module : *model_->blocks) {
    auto gate_BTH = module->as<model::BlockImpl>()->attn->variant->last_gate_BTH();
    if (!gate_BTH.defined()) return;
    any = true;
    auto mean_H = gate_BTH.to(torch::kFloat64).mean(std::vector<int64_t>{0, 1}).contiguous();
    const double* first = mean_H.data_ptr<double>();
    per_layer.push_back(std::vector<double>(first, first + mean_H.numel()));
  }
  if (any) sink_.eval(step, "gate_mean", per_layer);
}

TrainResult Trainer::run() {
  const auto& c = config_;
  const char* prefix = options_.log_prefix.c_str();
  auto optimizer = make_adamw(*model_, c);
  TrainResult result;
  TrainProgress progress;
  if (options_.checkpoints) {
    if (auto meta = options_.checkpoints->load_latest(*model_, *optimizer,
                                                      options_.config_fingerprint)) {
      progress = meta->progress;
      train_data_.seek(progress.loader);
      result.resumed_from = progress.next_step;
      sink_.truncate_after(progress.next_step - 1);  // the interrupted run's later rows go
      std::printf("%sresumed from the checkpoint at step %lld\n", prefix,
                  static_cast<long long>(progress.next_step));
    } else {
      sink_.truncate_after(-1);  // a fresh start (or --restart): an earlier attempt's rows go
    }
  }
  std::optional<GradientSync> grad_sync;
  std::optional<Watchdog> watchdog;
  if (options_.dist) {
    agree_on_start(progress);
    grad_sync.emplace(*options_.dist, model_->parameters());
    watchdog.emplace(std::chrono::seconds(2 * c.dist_timeout_s), options_.dist->rank());
  }
  const int world_size = options_.dist ? options_.dist->world_size() : 1;
  model_->train();
  const auto t_start = Clock::now();
  const int64_t tokens_per_step = c.tokens_per_step(world_size);
  // MFU of a step's tokens/s against the peak of every device of the run; absent without a peak.
  const auto mfu = [&](double tokens_per_s) -> std::optional<double> {
    if (!(options_.peak_flops > 0)) return std::nullopt;
    return model_flops_utilisation(options_.flops_per_token, tokens_per_s,
                                   options_.peak_flops * world_size);
  };
  double tokens_per_s_sum = 0.0;
  int64_t timed_steps = 0;

  const int64_t first_step = progress.next_step;
  for (int64_t step = first_step; step < c.steps; ++step) {
    const auto t0 = Clock::now();
    const double lr = lr_at(step, c.steps, c.lr, c.warmup_steps, c.min_lr_ratio);
    set_learning_rate(*optimizer, lr);
    optimizer->zero_grad();
    double loss_sum = 0.0;
    for (int64_t micro = 0; micro < c.grad_accum; ++micro) {
      auto t_BT1 = next_batch_BT1();
      auto loss = model_->loss(t_BT1.narrow(1, 0, c.seq_len), t_BT1.narrow(1, 1, c.seq_len));
      if (step == c.inject_nonfinite_step) loss = loss * std::nan("");
      if (grad_sync) grad_sync->begin_backward(micro + 1 == c.grad_accum);
      (loss / static_cast<double>(c.grad_accum)).backward();
      loss_sum += loss.item<double>();
    }
    bool stop = options_.stop_requested && options_.stop_requested->load();
    if (options_.dist) {
      dist_fault_point(options_.dist->rank(), step);
      grad_sync->finish();  // every rank now holds the same, rank-averaged gradients
      // One collective agrees on the loss (mean over ranks) and on stopping (rank 0 decides).
      const bool is_rank0 = options_.dist->rank() == 0;
      const auto sums = options_.dist->allreduce_sum({loss_sum, is_rank0 && stop ? 1.0 : 0.0});
      loss_sum = sums[0] / world_size;
      stop = sums[1] > 0;
      watchdog->pet();
      sink_.log(step, {{"dist/grad_sync_exposed_s", grad_sync->exposed_s()}});
    }
    const double loss = loss_sum / c.grad_accum;
    const double grad_norm = torch::nn::utils::clip_grad_norm_(
        model_->parameters(),
        c.grad_clip > 0 ? c.grad_clip : std::numeric_limits<double>::infinity());
    progress.next_step = step + 1;
    progress.loader = train_data_.position();

    const bool finite = std::isfinite(loss) && std::isfinite(grad_norm);
    if (!finite) {
      // The update never reaches the weights or the optimizer state; the step still counts
      // (its batch is consumed) and still evaluates, checkpoints and honours a stop request.
      const std::string what = std::string(std::isfinite(loss) ? "gradient norm" : "loss") +
                               " is " + std::to_string(std::isfinite(loss) ? grad_norm : loss) +
                               " at step " + std::to_string(step);
      sink_.log(step, {{"train/nonfinite", 1.0}});
      if (c.nonfinite == "halt") {
        throw NonFiniteError(what + " (policy nonfinite=halt; nothing after step " +
                             std::to_string(step - 1) +
                             " was checkpointed; set train.nonfinite=skip to skip such steps)");
      }
      if (++progress.consecutive_skips >= c.max_skips) {
        throw NonFiniteError(what + ": " + std::to_string(progress.consecutive_skips) +
                             " steps in a row were skipped (train.max_skips)");
      }
      std::printf("%sstep %lld skipped: %s\n", prefix, static_cast<long long>(step + 1),
                  what.c_str());
    } else {
      progress.consecutive_skips = 0;
      optimizer->step();
      progress.tokens_seen += tokens_per_step;
    }

    const double step_s = seconds_since(t0);
    const double tokens_per_s = tokens_per_step / step_s;
    if (finite) {
      if (step != first_step) {  // the first step of a process pays for warm-up
        tokens_per_s_sum += tokens_per_s;
        ++timed_steps;
      }
      sink_.log(step, {{"train/loss", loss},
                       {"train/lr", lr},
                       {"train/grad_norm", grad_norm},
                       {"train/tokens_per_s", tokens_per_s},
                       {"train/step_time_s", step_s},
                       {"train/tokens", static_cast<double>(progress.tokens_seen)}});
      if (const auto u = mfu(tokens_per_s)) sink_.log(step, {{"train/mfu", *u}});
      result.final_train_loss = loss;
    }
    result.steps = step + 1;

    const bool last = step + 1 == c.steps;
    if (last || (c.eval_every > 0 && (step + 1) % c.eval_every == 0)) {
      const double val = evaluate();
      sink_.log(step, {{"val/loss", val}});
      log_gates(step);
      result.final_val_loss = val;
      std::printf("%sstep %lld/%lld | val loss %.4f\n", prefix, static_cast<long long>(step + 1),
                  static_cast<long long>(c.steps), val);
    }
    if (finite && (step == 0 || last || (step + 1) % c.log_every == 0)) {
      const double elapsed = seconds_since(t_start);
      const double eta = elapsed / (step + 1 - first_step) * (c.steps - step - 1);
      char mfu_text[32] = "";
      if (const auto u = mfu(tokens_per_s)) {
        std::snprintf(mfu_text, sizeof mfu_text, " | MFU %.1f%%", 100.0 * *u);
      }
      std::printf("%sstep %lld/%lld | loss %.4f | lr %.2e | grad norm %.3f | %.0f tok/s%s | "
                  "%.3f s/step | eta %.0fs\n",
                  prefix, static_cast<long long>(step + 1), static_cast<long long>(c.steps), loss,
                  lr, grad_norm, tokens_per_s, mfu_text, step_s, eta);
    }
    std::fflush(stdout);
    if (last || stop || (c.checkpoint_every > 0 && (step + 1) % c.checkpoint_every == 0)) {
      save_checkpoint(*optimizer, progress);
    }
    if (stop && !last) {
      result.preempted = true;
      std::printf("%sstopping on request after step %lld (checkpointed)\n", prefix,
                  static_cast<long long>(step + 1));
      break;
    }
  }
  result.wall_s = seconds_since(t_start);
  result.tokens_per_s_mean = timed_steps ? tokens_per_s_sum / timed_steps : 0.0;
  return result;
}

}  // namespace attnlab::train
