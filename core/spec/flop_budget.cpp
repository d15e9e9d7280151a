// apply_flop_budget: isoFLOP runs choose their steps from train.flop_budget (run_spec.h).
#include <cmath>
#include <cstdio>

#include "attnlab/spec/run_spec.h"

namespace attnlab::spec {

namespace {

std::string number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", value);
  return buf;
}

// train.steps must be 0 (chosen) exactly when a budget is set, or 0 (no training step: the
// train.init_from weights are evaluated as they are) when the run starts from a checkpoint.
void check_steps_key(const RunSpec& spec) {
  const auto& c = spec.cell;
  const bool budget = spec.train.flop_budget > 0;
  if (budget && spec.train.steps != 0) {
    throw config::ConfigError("train.steps", c.origin_of("train.steps"),
                              "is " + std::to_string(spec.train.steps) + " but train.flop_budget=" +
                                  number(spec.train.flop_budget) +
                                  " chooses the steps; set train.steps=0 to let the budget "
                                  "choose them, or train.flop_budget=0 to fix them");
  }
  if (!budget && spec.train.steps == 0 && spec.train.init_from.empty()) {
    throw config::ConfigError("train.steps", c.origin_of("train.steps"),
                              "is 0, which needs train.init_from (evaluate those weights without "
                              "training) or train.flop_budget (it chooses the steps); set "
                              "train.steps >= 1, train.init_from=CHECKPOINT or "
                              "train.flop_budget (training FLOPs)");
  }
}

}  // namespace

void apply_flop_budget(RunSpec& spec, int world_size) {
  check_steps_key(spec);
  if (spec.train.flop_budget <= 0) return;
  const double flops_per_step =
      spec.flops_per_token * static_cast<double>(spec.train.tokens_per_step(world_size));
  spec.budget_steps_exact = spec.train.flop_budget / flops_per_step;
  const double steps = std::round(spec.budget_steps_exact);
  if (steps < 1) {
    throw config::ConfigError(
        "train.flop_budget", spec.cell.origin_of("train.flop_budget"),
        number(spec.train.flop_budget) + " FLOPs buy " + number(spec.budget_steps_exact) +
            " steps of this cell (" + number(flops_per_step) + " FLOPs per step at " +
            std::to_string(world_size) + (world_size == 1 ? " rank" : " ranks") +
            "); raise the budget to at least " + number(flops_per_step));
  }
  spec.train.steps = static_cast<int64_t>(steps);
  spec.cell.tree["train"]["steps"] = spec.train.steps;
}

}  // namespace attnlab::spec
