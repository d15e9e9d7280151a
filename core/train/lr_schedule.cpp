// Warm-up + cosine learning-rate schedule.
#include "attnlab/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace attnlab::train {

double lr_at(int64_t step, int64_t total_steps, double lr, int64_t warmup_steps,
             double min_lr_ratio) {
  if (step < warmup_steps) return lr * static_cast<double>(step + 1) / warmup_steps;
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup_steps - 1);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) / decay_steps);
  const double min_lr = lr * min_lr_ratio;
  return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace attnlab::train
