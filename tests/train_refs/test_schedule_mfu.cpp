// The LR schedule at every step against the formula lr_schedule.h documents (linear warm-up
// from lr/warmup to lr, then cosine decay to lr * min_lr_ratio at the last step), and MFU
// from hand-computed numbers.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "attnlab/train/lr_schedule.h"
#include "attnlab/train/mfu.h"
#include "training_reference.h"

namespace {

using attnlab::test::reference_lr;
using attnlab::test::Schedule;

double lr_of(const Schedule& s, int64_t step) {
  return attnlab::train::lr_at(step, s.steps, s.lr, s.warmup, s.min_lr_ratio);
}

}  // namespace

TEST_CASE("lr_at matches the documented warm-up + cosine at every step", "[train_refs][lr]") {
  const Schedule schedules[] = {{10, 0, 3e-4, 0.0}, {10, 0, 1e-3, 0.1}, {13, 4, 6e-4, 0.0},
                                {13, 4, 6e-4, 0.1}, {7, 7, 2e-3, 0.1}};
  for (const auto& s : schedules) {
    for (int64_t step = 0; step < s.steps; ++step) {
      INFO("steps " << s.steps << " warmup " << s.warmup << " ratio " << s.min_lr_ratio
                    << " step " << step);
      CHECK(lr_of(s, step) == Approx(reference_lr(s, step)).epsilon(1e-12).margin(1e-18));
    }
  }
}

TEST_CASE("lr_at hits the documented anchors and hand values", "[train_refs][lr]") {
  const Schedule warm{13, 4, 6e-4, 0.1};
  CHECK(lr_of(warm, 0) == Approx(1.5e-4).epsilon(1e-12));   // lr / warmup
  CHECK(lr_of(warm, 3) == Approx(6e-4).epsilon(1e-12));     // warm-up ends at lr
  CHECK(lr_of(warm, 4) == Approx(6e-4).epsilon(1e-12));     // decay starts at lr
  CHECK(lr_of(warm, 12) == Approx(6e-5).epsilon(1e-12));    // lr * min_lr_ratio at the last step
  const Schedule only_warmup{7, 7, 2e-3, 0.1};               // warm-up = steps: never decays
  CHECK(lr_of(only_warmup, 6) == Approx(2e-3).epsilon(1e-12));
  // 5 steps, no warm-up, ratio 0: progress 0, 1/4, 1/2, 3/4, 1.
  const Schedule five{5, 0, 1.0, 0.0};
  const double by_hand[] = {1.0, 0.8535533905932737, 0.5, 0.1464466094067262, 0.0};
  for (int64_t step = 0; step < 5; ++step) {
    INFO("step " << step);
    CHECK(lr_of(five, step) == Approx(by_hand[step]).epsilon(1e-12).margin(1e-15));
  }
}

// The trainer divides by peak_flops * world_size (trainer.cpp step_metrics); no test covers
// that product: tests/dist has no MFU check and tests/train/test_mfu.cpp runs one process.
// Here the function itself, fed the product as the trainer would.
TEST_CASE("model_flops_utilisation from hand numbers", "[train_refs][mfu]") {
  using attnlab::train::model_flops_utilisation;
  // 6e8 FLOPs/token * 2.5e5 tokens/s = 1.5e14 FLOP/s.
  CHECK(model_flops_utilisation(6e8, 2.5e5, 5e14) == Approx(0.3).epsilon(1e-12));
  const double peak_per_device = 5e14;
  const int world_size = 4;
  CHECK(model_flops_utilisation(6e8, 2.5e5, peak_per_device * world_size) ==
        Approx(0.075).epsilon(1e-12));
  CHECK_THROWS_AS(model_flops_utilisation(6e8, 2.5e5, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(model_flops_utilisation(6e8, 2.5e5, -1e14), std::invalid_argument);
  CHECK_THROWS_AS(model_flops_utilisation(6e8, 2.5e5, std::nan("")), std::invalid_argument);
}
