// What the decoder's attention variants did in the last forward, gathered over layers: their
// auxiliary losses, their statistics (plus the measured attention entropy), their parameter
// groups and their gate distillation.
#include <torch/torch.h>

#include "attnlab/model/decoder.h"

namespace attnlab::model {

namespace {

AttentionVariant& variant_of(const std::shared_ptr<torch::nn::Module>& block) {
  return *block->as<BlockImpl>()->attn->variant;
}

// The slot of `name` in `stats`, appended (one nullopt per layer) when new.
std::vector<std::optional<double>>& slot(
    std::vector<std::pair<std::string, std::vector<std::optional<double>>>>& stats,
    const std::string& name, size_t n_layer) {
  for (auto& entry : stats) {
    if (entry.first == name) return entry.second;
  }
  stats.emplace_back(name, std::vector<std::optional<double>>(n_layer));
  return stats.back().second;
}

}  // namespace

torch::Tensor DecoderImpl::aux_loss() const {
  torch::Tensor total;
  for (const auto& block : *blocks) {
    const auto aux = variant_of(block).aux_loss();
    if (aux.defined()) total = total.defined() ? total + aux : aux;
  }
  return total;
}

std::vector<std::pair<std::string, std::vector<std::optional<double>>>>
DecoderImpl::attention_statistics() const {
  std::vector<std::pair<std::string, std::vector<std::optional<double>>>> stats;
  const size_t n_layer = blocks->size();
  for (size_t l = 0; l < n_layer; ++l) {
    for (const auto& stat : variant_of((*blocks)[l]).statistics()) {
      if (stat.value.defined()) slot(stats, stat.name, n_layer)[l] = stat.value.item<double>();
    }
  }
  const auto entropy_L = attention_entropy();
  for (size_t l = 0; l < entropy_L.size(); ++l) {
    if (entropy_L[l].defined()) slot(stats, "entropy", n_layer)[l] = entropy_L[l].item<double>();
  }
  return stats;
}

std::vector<std::pair<std::string, torch::Tensor>> DecoderImpl::grouped_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> grouped;
  for (const auto& block : *blocks) {
    const auto& variant = variant_of(block);
    for (const auto& p : variant.named_parameters()) {
      auto group = variant.parameter_group(p.key());
      if (!group.empty()) grouped.emplace_back(std::move(group), p.value());
    }
  }
  return grouped;
}

bool DecoderImpl::supports_gate_distillation() const {
  for (const auto& block : *blocks) {
    if (!variant_of(block).supports_gate_distillation()) return false;
  }
  return true;
}

void DecoderImpl::set_gate_distillation(bool on) {
  for (const auto& block : *blocks) variant_of(block).set_gate_distillation(on);
}

GateDistillation DecoderImpl::gate_distillation() const {
  std::vector<torch::Tensor> loss_L, recall_L;
  for (const auto& block : *blocks) {
    const auto layer = variant_of(block).gate_distillation();
    if (!layer.loss.defined() || !layer.recall.defined()) {
      throw std::logic_error("layer " + std::to_string(loss_L.size()) +
                             "'s attention variant returned no gate distillation loss or recall "
                             "after a forward with gate distillation on");
    }
    loss_L.push_back(layer.loss.to(torch::kFloat));
    recall_L.push_back(layer.recall.detach().to(torch::kFloat));
  }
  return {torch::stack(loss_L).mean(), torch::stack(recall_L).mean()};
}

}  // namespace attnlab::model
