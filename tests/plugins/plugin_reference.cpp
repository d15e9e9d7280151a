// The registry of the conformance suite's per-plugin references (plugin_reference.h) and the
// formula helpers the references share. Nothing here calls a plugin's or the kernels' code.
#include "plugin_reference.h"

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>

#include "../kernels/naive_attention.h"

namespace attnlab::test {
namespace {

// Function-local, so registrars in other translation units may run first.
std::map<std::string, PluginReference>& references() {
  static std::map<std::string, PluginReference> by_plugin;
  return by_plugin;
}

}  // namespace

const PluginReference* find_reference(const std::string& plugin) {
  const auto found = references().find(plugin);
  return found == references().end() ? nullptr : &found->second;
}

ReferenceRegistrar::ReferenceRegistrar(const std::string& plugin, PluginReference reference) {
  if (!references().emplace(plugin, std::move(reference)).second) {
    throw std::logic_error("two references registered for plugin " + plugin);
  }
}

torch::Tensor parameter(const AttentionVariant& variant, const std::string& name) {
  const auto parameters = variant.named_parameters();
  const auto* found = parameters.find(name);
  INFO("parameter " << name << " of the variant");
  REQUIRE(found != nullptr);
  return found->to(torch::kDouble);
}

int64_t adaptive_window(const nlohmann::json& options, int64_t T) {
  return T > options.at("adaptive_threshold").get<int64_t>() ? options.at("window").get<int64_t>()
                                                             : -1;
}

ReferenceOutput windowed_attention(const ReferenceInput& in, int64_t window,
                                   const torch::Tensor& gate_BTH) {
  const int64_t T = in.q_BHTD.size(2);
  const double pairs = naive_mask(T, window).sum().item<double>();
  return {naive_attention(in.q_BHTD, in.k_BKTD, in.v_BKTD, window, gate_BTH),
          pairs * static_cast<double>(in.q_BHTD.size(1))};
}

torch::Tensor head_gate(const ReferenceInput& in) {
  const auto w_HC = parameter(*in.variant, "gate_weight");
  const auto b_H = parameter(*in.variant, "gate_bias");
  return torch::sigmoid(torch::matmul(in.x_BTC, w_HC.t()) + b_H);
}

}  // namespace attnlab::test
