// Validation loss and loss against token position (issue 19): the cross-entropy of every
// target of the held-out batches, from the model's full logits, summed overall and per
// equal-width bucket of the input position t (the logits at t predict token t+1). A window
// shows what it loses at long range as a rising curve over the later buckets.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "attnlab/data/loader.h"
#include "attnlab/eval/logits_fn.h"

namespace attnlab::eval {

// Per target, -log softmax(logits)[target] in fp32: logits [B, T, V] (any floating dtype,
// any device), targets [B, T] int64 -> [B, T] fp32 on the logits' device.
torch::Tensor token_losses(const torch::Tensor& logits_BTV, const torch::Tensor& targets_BT);

// Sums of target losses (fp64) overall and per bucket of input position.
class PositionLoss {
 public:
  // min(n_buckets, seq_len) buckets; bucket i holds positions [i·T/n, (i+1)·T/n) (floors).
  // Throws std::invalid_argument when seq_len or n_buckets is below 1.
  PositionLoss(int64_t seq_len, int64_t n_buckets);

  // Adds the losses [B, T] (any device) of the targets where mask [B, T] is nonzero
  // (undefined mask: every target).
  void add(const torch::Tensor& loss_BT, const torch::Tensor& mask_BT);

  int64_t tokens() const;  // targets added
  double mean() const;     // mean loss over them; NaN when none
  // {"loss", "perplexity", "tokens"}: the eval/val_loss value.
  nlohmann::json val_loss_json() const;
  // {"bucket_start", "bucket_end", "loss" (null where empty), "tokens"}: eval/position_loss.
  nlohmann::json position_loss_json() const;

 private:
  int64_t seq_len_;
  std::vector<int64_t> start_, end_;  // per bucket
  std::vector<int64_t> bucket_of_;    // per position
  std::vector<double> sum_;
  std::vector<int64_t> count_;
};

// The first `batches` batches of `val` (B = batch_size rows of T+1 tokens; MQAR with its
// answer-only mask) through logits_of, at most rows_per_forward rows per call, into a
// PositionLoss of n_buckets. on_batch(done, total) after each batch. Throws
// std::invalid_argument when `val` holds fewer than `batches` batches or an argument is below 1.
PositionLoss validation_position_loss(const LogitsFn& logits_of, const data::ValidationSet& val,
                                      int64_t batch_size, int64_t seq_len, int64_t batches,
                                      int64_t n_buckets, int64_t rows_per_forward,
                                      const std::function<void(int64_t, int64_t)>& on_batch);

}  // namespace attnlab::eval
