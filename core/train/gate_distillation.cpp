// The start of a gate distillation run: checks, switch-on and freezing (gate_distillation.h).
#include "gate_distillation.h"

#include <torch/torch.h>

#include <stdexcept>

namespace attnlab::train {

std::set<std::string> gate_parameter_names(const model::DecoderImpl& model) {
  std::set<const void*> gate;
  for (const auto& [group, p] : model.grouped_parameters()) {
    if (group == kGateGroup) gate.insert(p.unsafeGetTensorImpl());
  }
  std::set<std::string> names;
  for (const auto& p : model.named_parameters()) {
    if (gate.count(p.value().unsafeGetTensorImpl())) names.insert(p.key());
  }
  return names;
}

void start_gate_distillation(model::DecoderImpl& model, const std::string& plugin) {
  const std::string variant = plugin.empty() ? "the attention variant" : "attention plugin " + plugin;
  if (!model.supports_gate_distillation()) {
    throw std::invalid_argument("train.distill_gate: " + variant +
                                " has no gate it can distil (supports_gate_distillation() is "
                                "false); use a plugin that does, e.g. attention=block_gate");
  }
  const auto gate = gate_parameter_names(model);
  if (gate.empty()) {
    throw std::invalid_argument("train.distill_gate: " + variant + " puts no parameter in group " +
                                std::string(kGateGroup) + ", so there is nothing to train");
  }
  model.set_gate_distillation(true);
  for (auto& p : model.named_parameters()) {
    if (!gate.count(p.key())) p.value().set_requires_grad(false);
  }
}

}  // namespace attnlab::train
