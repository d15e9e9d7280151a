// Shared pieces of the interop tests: the tree (model + attention sections) of a small decoder
// with a given plugin, the decoder built from it with every parameter and buffer drawn at
// random (never the init's ones and zeros), and a fresh folder under the temp dir.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "../common/tiny_experiment.h"
#include "attnlab/spec/build_model.h"

namespace attnlab::test {

// 2 layers, d_model 24, 4 query heads over 2 kv heads of dim 6, vocabulary 61.
inline nlohmann::json small_tree(const std::string& plugin, bool tied = true,
                                 bool sigma_reparam = false) {
  return {{"model",
           {{"name", "interop_test"},
            {"vocab_size", 61},
            {"d_model", 24},
            {"n_layer", 2},
            {"n_head", 4},
            {"n_kv_head", 2},
            {"head_dim", 6},
            {"ffn_hidden", 40},
            {"rope_theta", 5000.0},
            {"norm_eps", 1e-5},
            {"init_std", 0.02},
            {"tie_embeddings", tied},
            {"sigma_reparam", sigma_reparam}}},
          {"attention", {{"variant", plugin}, {"options", nlohmann::json::object()}}}};
}

inline model::Decoder random_decoder(const nlohmann::json& tree, uint64_t seed) {
  auto decoder = spec::build_model(tree, *built_plugins());
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : decoder->parameters()) p.uniform_(-1.0, 1.0);
  for (auto& b : decoder->buffers()) {
    if (b.is_floating_point()) b.uniform_(-1.0, 1.0);
  }
  decoder->eval();
  return decoder;
}

inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "attnlab_interop_test" / name;
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace attnlab::test
