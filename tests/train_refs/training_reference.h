// The training maths written from the papers and the docs, independently of core/train: the
// LR schedule (linear warm-up, then cosine to lr * min_lr_ratio at the last step) and one
// AdamW step per parameter (Loshchilov & Hutter, as PyTorch writes it). Shared by the
// schedule, AdamW and golden-trajectory tests.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <cstdint>

#include "attnlab/train/train_config.h"

namespace attnlab::test {

struct Schedule {
  int64_t steps, warmup;
  double lr, min_lr_ratio;
};

// The documented schedule, written as cos²: (1 + cos(pi p)) / 2 == cos²(pi p / 2).
inline double reference_lr(const Schedule& s, int64_t step) {
  if (step < s.warmup) return s.lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup);
  const double progress = static_cast<double>(step - s.warmup) /
                          static_cast<double>(s.steps - 1 - s.warmup);  // 0 .. 1 at the last step
  const double min_lr = s.lr * s.min_lr_ratio;
  const double c = std::cos(M_PI * progress / 2.0);
  return min_lr + (s.lr - min_lr) * c * c;
}

// One parameter of the reference optimizer: value, both moments and its weight decay.
struct RefParam {
  torch::Tensor p, m, v;
  double wd;
};

// p <- p - lr*wd*p, then the Adam step with bias-corrected moments and eps outside the square
// root. t counts from 1.
inline void reference_adamw_step(RefParam& r, const torch::Tensor& g, int t, double lr,
                                 const train::TrainConfig& c) {
  r.p = r.p - lr * r.wd * r.p;
  r.m = c.beta1 * r.m + (1.0 - c.beta1) * g;
  r.v = c.beta2 * r.v + (1.0 - c.beta2) * g * g;
  const auto m_hat = r.m / (1.0 - std::pow(c.beta1, t));
  const auto v_hat = r.v / (1.0 - std::pow(c.beta2, t));
  r.p = r.p - lr * m_hat / (v_hat.sqrt() + c.adam_eps);
}

}  // namespace attnlab::test
