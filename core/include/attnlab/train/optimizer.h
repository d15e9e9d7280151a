// AdamW and its parameter groups: matrices get weight decay, 1-D parameters (norm scales,
// biases such as the gates' b_g) get none; parameters an attention variant puts in a named
// group (AttentionVariant::parameter_group) that train.param_groups configures get a group of
// their own with that group's learning-rate scale and weight decay.
#pragma once
#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attnlab/train/train_config.h"

namespace attnlab::train {

// (group name, parameter) for each parameter a variant put in a named group.
using GroupedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

struct Optimizer {
  std::unique_ptr<torch::optim::AdamW> adamw;
  std::vector<double> lr_scale;  // per AdamW parameter group, in its order
  // Sets every group's learning rate to lr times its scale.
  void set_learning_rate(double lr);
};

// Throws std::invalid_argument naming train.param_groups.<name> when a configured group holds
// no parameter (a misspelt group would otherwise change nothing), listing the groups there are.
Optimizer make_adamw(torch::nn::Module& model, const TrainConfig& c,
                     const GroupedParameters& grouped = {});
// Moves AdamW's moment estimates to `device` (after loading a checkpoint read onto the CPU).
void move_optimizer_state_to(torch::optim::AdamW& optimizer, const torch::Device& device);

}  // namespace attnlab::train
