// The learning-rate schedule: linear warm-up from lr/warmup to lr, then cosine decay to
// lr * min_lr_ratio at the last step.
#pragma once
#include <cstdint>

namespace attnlab::train {

// Learning rate for optimizer step `step` (0-based) of `total_steps`.
double lr_at(int64_t step, int64_t total_steps, double lr, int64_t warmup_steps,
             double min_lr_ratio);

}  // namespace attnlab::train
