// AdamW parameter groups and learning-rate updates.
#include "attnlab/train/optimizer.h"

#include <torch/torch.h>

#include <map>
#include <set>
#include <stdexcept>

namespace attnlab::train {

namespace {

std::unique_ptr<torch::optim::AdamWOptions> adamw_options(const TrainConfig& c, double wd) {
  return std::make_unique<torch::optim::AdamWOptions>(
      torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.adam_eps).weight_decay(wd));
}

// The configured groups' parameters, by group name; every configured group must hold some.
std::map<std::string, std::vector<torch::Tensor>> configured_groups(
    const TrainConfig& c, const GroupedParameters& grouped) {
  std::map<std::string, std::vector<torch::Tensor>> groups;
  std::set<std::string> declared;
  for (const auto& [group, p] : grouped) {
    declared.insert(group);
    if (c.param_groups.count(group) && p.requires_grad()) groups[group].push_back(p);
  }
  for (const auto& entry : c.param_groups) {
    if (groups.count(entry.first)) continue;
    std::string have;
    for (const auto& name : declared) have += (have.empty() ? "" : ", ") + name;
    throw std::invalid_argument("train.param_groups." + entry.first +
                                ": no trainable parameter is in this group; the attention "
                                "variant's groups are: " +
                                (have.empty() ? "(none)" : have));
  }
  return groups;
}

}  // namespace

Optimizer make_adamw(torch::nn::Module& model, const TrainConfig& c,
                     const GroupedParameters& grouped) {
  const auto groups = configured_groups(c, grouped);
  std::set<const void*> in_group;
  for (const auto& entry : groups) {
    for (const auto& p : entry.second) in_group.insert(p.unsafeGetTensorImpl());
  }
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model.parameters()) {
    if (!p.requires_grad() || in_group.count(p.unsafeGetTensorImpl())) continue;
    (p.dim() >= 2 ? decay : no_decay).push_back(p);
  }
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  Optimizer optimizer;
  param_groups.emplace_back(decay, adamw_options(c, c.weight_decay));
  param_groups.emplace_back(no_decay, adamw_options(c, 0.0));
  optimizer.lr_scale = {1.0, 1.0};
  for (const auto& [name, params] : groups) {
    const auto& rule = c.param_groups.at(name);
    for (bool matrices : {true, false}) {  // the model's rule, unless the group sets a decay
      std::vector<torch::Tensor> part;
      for (const auto& p : params) {
        if ((p.dim() >= 2) == matrices) part.push_back(p);
      }
      if (part.empty()) continue;
      const double wd = rule.weight_decay.value_or(matrices ? c.weight_decay : 0.0);
      param_groups.emplace_back(part, adamw_options(c, wd));
      optimizer.lr_scale.push_back(rule.lr_scale);
    }
  }
  optimizer.adamw = std::make_unique<torch::optim::AdamW>(std::move(param_groups),
                                                          torch::optim::AdamWOptions(c.lr));
  optimizer.set_learning_rate(c.lr);
  return optimizer;
}

void Optimizer::set_learning_rate(double lr) {
  auto& groups = adamw->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(lr * lr_scale.at(i));
  }
}

void move_optimizer_state_to(torch::optim::AdamW& optimizer, const torch::Device& device) {
  for (auto& entry : optimizer.state()) {  // keyed by parameter; the key type varies by version
    auto& state = static_cast<torch::optim::AdamWParamState&>(*entry.second);
    state.exp_avg(state.exp_avg().to(device));
    state.exp_avg_sq(state.exp_avg_sq().to(device));
    if (state.max_exp_avg_sq().defined()) state.max_exp_avg_sq(state.max_exp_avg_sq().to(device));
  }
}

}  // namespace attnlab::train
