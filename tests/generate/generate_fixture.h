// Shared pieces of the generation tests: every plugin of build/plugins with the option sets
// the cache tests use, and a small fp64 decoder with random weights around one of them.
//
// Shape legend: B batch, T tokens, V vocabulary.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../model/small_model_config.h"
#include "attnlab/model/decoder.h"
#include "attnlab/plugin/registry.h"

namespace attnlab::test {

inline constexpr int64_t kVocab = 61, kLayers = 2;

// The registry of this build's plugins (build/plugins).
inline plugin::PluginRegistry& built_plugins() {
  static plugin::PluginRegistry registry(ATTNLAB_BINARY_DIR "/plugins");
  return registry;
}

// The option sets a plugin is decoded with: its defaults, then (for the keys it declares) a
// window of 3 applied at every length without sinks (a rolling cache where the plugin's
// reach is bounded), and the same with 2 sinks; a DMA-style `keep` of 4 in both.
inline std::vector<nlohmann::json> decoding_option_sets(const plugin::LoadedPlugin& p) {
  std::vector<nlohmann::json> sets = {nlohmann::json::object()};
  for (const int64_t sinks : {0, 2}) {
    const nlohmann::json wanted = {
        {"window", 3}, {"adaptive_threshold", 0}, {"sinks", sinks}, {"keep", 4}};
    nlohmann::json set = nlohmann::json::object();
    for (const auto& option : p.options) {
      if (wanted.contains(option.key)) set[option.key] = wanted[option.key];
    }
    if (!set.empty() && std::find(sets.begin(), sets.end(), set) == sets.end()) sets.push_back(set);
  }
  return sets;
}

// 2 layers of the small test decoder (d_model 24, 4 query heads over 2 kv heads of dim 6) with
// the plugin in every layer, drawn from a fixed seed, in fp64 and eval mode.
inline model::Decoder small_decoder(const plugin::LoadedPlugin& p, const nlohmann::json& options) {
  torch::manual_seed(1234);
  auto config = small_model_config("generate_test", kVocab, kLayers);
  config.init_std = 0.3;  // peaked enough that positions matter
  const auto completed = p.complete_options(options);
  model::Decoder decoder(config,
                         [&](const attnlab_layer_dims& dims) { return p.create(dims, completed); });
  decoder->to(torch::kDouble);
  decoder->eval();
  return decoder;
}

inline torch::Tensor random_ids_BT(int64_t B, int64_t T) {
  return torch::randint(kVocab, {B, T}, torch::kInt64);
}

}  // namespace attnlab::test
