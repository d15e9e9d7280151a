// What the evaluations score: any function from token ids to next-token logits, so each scorer
// can be tested against a stub whose right answers are known, and run on a decoder's forward.
#pragma once
#include <torch/types.h>

#include <functional>

namespace attnlab::eval {

// int64 token ids [B, T] -> logits [B, T, V] (any device, any floating dtype).
using LogitsFn = std::function<torch::Tensor(const torch::Tensor& idx_BT)>;

// int64 token ids [B, T] and n -> the logits of the last n positions, [B, n, V]
// (Decoder::forward_tail): scoring a continuation without the [B, T, V] logits.
using TailLogitsFn = std::function<torch::Tensor(const torch::Tensor& idx_BT, int64_t n)>;

}  // namespace attnlab::eval
