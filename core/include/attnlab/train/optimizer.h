// AdamW with two parameter groups: matrices get weight decay; 1-D parameters (norm scales,
// biases such as the gates' b_g) get none.
#pragma once
#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <memory>

#include "attnlab/train/train_config.h"

namespace attnlab::train {

std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, const TrainConfig& c);
// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);
// Moves AdamW's moment estimates to `device` (after loading a checkpoint read onto the CPU).
void move_optimizer_state_to(torch::optim::AdamW& optimizer, const torch::Device& device);

}  // namespace attnlab::train
