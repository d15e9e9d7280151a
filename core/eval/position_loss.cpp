// Validation loss overall and per position bucket; see position_loss.h.
#include "attnlab/eval/position_loss.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace attnlab::eval {

torch::Tensor token_losses(const torch::Tensor& logits_BTV, const torch::Tensor& targets_BT) {
  const auto logits = logits_BTV.to(torch::kFloat);
  const auto target_logit_BT =
      logits.gather(-1, targets_BT.to(logits.device(), torch::kInt64).unsqueeze(-1)).squeeze(-1);
  return logits.logsumexp(-1) - target_logit_BT;
}

PositionLoss::PositionLoss(int64_t seq_len, int64_t n_buckets) : seq_len_(seq_len) {
  if (seq_len < 1 || n_buckets < 1)
    throw std::invalid_argument("PositionLoss: seq_len and n_buckets must be >= 1 (got " +
                                std::to_string(seq_len) + ", " + std::to_string(n_buckets) + ")");
  const int64_t n = std::min(n_buckets, seq_len);
  for (int64_t i = 0; i < n; ++i) {
    start_.push_back(i * seq_len / n);
    end_.push_back((i + 1) * seq_len / n);
    bucket_of_.insert(bucket_of_.end(), end_.back() - start_.back(), i);
  }
  sum_.assign(size_t(n), 0.0);
  count_.assign(size_t(n), 0);
}

void PositionLoss::add(const torch::Tensor& loss_BT, const torch::Tensor& mask_BT) {
  if (loss_BT.dim() != 2 || loss_BT.size(1) != seq_len_)
    throw std::invalid_argument("PositionLoss::add: losses must be [B, " +
                                std::to_string(seq_len_) + "]");
  const auto keep_BT = mask_BT.defined() ? mask_BT.to(loss_BT.device(), torch::kBool)
                                         : torch::ones_like(loss_BT, torch::kBool);
  const auto loss64_BT = loss_BT.to(torch::kFloat64).masked_fill(keep_BT.logical_not(), 0.0);
  const auto sum_T = loss64_BT.sum(0).cpu().contiguous();
  const auto count_T = keep_BT.sum(0).to(torch::kCPU, torch::kInt64).contiguous();
  const double* sums = sum_T.data_ptr<double>();
  const int64_t* counts = count_T.data_ptr<int64_t>();
  for (int64_t t = 0; t < seq_len_; ++t) {
    sum_[size_t(bucket_of_[size_t(t)])] += sums[t];
    count_[size_t(bucket_of_[size_t(t)])] += counts[t];
  }
}

int64_t PositionLoss::tokens() const {
  int64_t n = 0;
  for (const auto c : count_) n += c;
  return n;
}

double PositionLoss::mean() const {
  double total = 0.0;
  for (const auto s : sum_) total += s;
  return tokens() ? total / double(tokens()) : std::numeric_limits<double>::quiet_NaN();
}

nlohmann::json PositionLoss::val_loss_json() const {
  return {{"loss", mean()}, {"perplexity", std::exp(mean())}, {"tokens", tokens()}};
}

nlohmann::json PositionLoss::position_loss_json() const {
  auto loss = nlohmann::json::array();
  for (size_t i = 0; i < sum_.size(); ++i)
    loss.push_back(count_[i] ? nlohmann::json(sum_[i] / double(count_[i])) : nlohmann::json());
  return {{"bucket_start", start_}, {"bucket_end", end_}, {"loss", loss}, {"tokens", count_}};
}

PositionLoss validation_position_loss(const LogitsFn& logits_of, const data::ValidationSet& val,
                                      int64_t batch_size, int64_t seq_len, int64_t batches,
                                      int64_t n_buckets, int64_t rows_per_forward,
                                      const std::function<void(int64_t, int64_t)>& on_batch) {
  if (batch_size < 1 || batches < 1 || rows_per_forward < 1)
    throw std::invalid_argument(
        "validation_position_loss: batch_size, batches and "
        "rows_per_forward must be >= 1");
  if (int64_t(val.n_batches()) < batches)
    throw std::invalid_argument("validation_position_loss: the validation data holds " +
                                std::to_string(val.n_batches()) + " batches, fewer than " +
                                std::to_string(batches));
  const int64_t B = batch_size, T = seq_len;
  PositionLoss result(T, n_buckets);
  auto tokens_BT1 = torch::empty({B, T + 1}, torch::kInt32);
  auto mask_BT = torch::empty({B, T}, torch::kUInt8);
  for (int64_t i = 0; i < batches; ++i) {
    val.batch(size_t(i), tokens_BT1.data_ptr<int32_t>(),
              val.masks_loss() ? mask_BT.data_ptr<uint8_t>() : nullptr);
    const auto tokens = tokens_BT1.to(torch::kInt64);
    for (int64_t row = 0; row < B; row += rows_per_forward) {
      const int64_t n = std::min(rows_per_forward, B - row);
      const auto rows_NT1 = tokens.narrow(0, row, n);
      const auto loss_NT =
          token_losses(logits_of(rows_NT1.narrow(1, 0, T)), rows_NT1.narrow(1, 1, T));
      result.add(loss_NT, val.masks_loss() ? mask_BT.narrow(0, row, n) : torch::Tensor());
    }
    if (on_batch) on_batch(i + 1, batches);
  }
  return result;
}

}  // namespace attnlab::eval
