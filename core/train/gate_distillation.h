// train.distill_gate, the model side of it: which parameters are the gate's, and the start of
// a distillation run (every layer's variant supports it and has it switched on, every other
// parameter frozen). The step itself (the loss it back-propagates) is in trainer.cpp.
#pragma once
#include <set>
#include <string>

#include "attnlab/model/decoder.h"

namespace attnlab::train {

// The optimizer group the variants put their gate's parameters in.
inline constexpr const char* kGateGroup = "gate";

// The names (as in model.named_parameters()) of the parameters in group kGateGroup.
std::set<std::string> gate_parameter_names(const model::DecoderImpl& model);

// Switches gate distillation on in every layer and sets requires_grad false on every parameter
// outside group kGateGroup (so the optimizer and the gradient sync leave them out). Throws
// std::invalid_argument when a layer's variant does not support gate distillation (naming
// `plugin`, the variants' plugin, when given) or no parameter is in group kGateGroup.
void start_gate_distillation(model::DecoderImpl& model, const std::string& plugin);

}  // namespace attnlab::train
