// The conformance suite's shared pieces (tests/plugins/conformance/*.cpp, one concern per
// file): the layer dims, random fp64 samples, running a variant, and for_each_plugin, which
// gives every plugin found in build/plugins its own SECTION "<plugin>: <check>" with the
// option sets its reference (plugin_reference.h) asks for. A new plugin is tested unchanged.
//
// Shape legend: B batch, H query heads, K kv heads, T sequence length, D head dim, C d_model.
#pragma once
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../kernels/naive_attention.h"
#include "../plugin_reference.h"
#include "attnlab/attention_variant.h"
#include "attnlab/plugin/registry.h"

namespace attnlab::test::conformance {

using attnlab::test::max_abs_diff;

constexpr int64_t B = 2, H = 4, K = 2, D = 8, C = 12;
inline const attnlab_layer_dims kDims{C, H, K, D, 1, 0};

struct Sample {
  torch::Tensor q_BHTD, k_BKTD, v_BKTD, x_BTC;
  Sample clone() const;
};

Sample random_sample(int64_t T, torch::Dtype dtype = torch::kDouble);

// variant.forward(q, k, v) with x and position_offset in the context.
torch::Tensor run(AttentionVariant& variant, const Sample& s, int64_t position_offset = 0);

// Options completed with the plugin's defaults, and the lengths T the checks use with them.
struct OptionSet {
  std::string name;  // "defaults" or "small_options"
  nlohmann::json options;
  std::vector<int64_t> lengths;
};

// One plugin under test with its reference (nullptr when none is registered) and its
// completed options: the defaults, the reference's small_options, and smooth = small_options
// with smooth_options merged over them.
struct PluginUnderTest {
  const plugin::LoadedPlugin& plugin;
  const PluginReference* reference;
  nlohmann::json defaults, small, smooth;

  bool declares(const std::string& key) const;
  // The defaults at T 12, 40, 300, 520 (across the 512 adaptive threshold), then the small
  // options at T 12, 40, 300.
  std::vector<OptionSet> option_sets() const;
  std::shared_ptr<AttentionVariant> create(const nlohmann::json& options,
                                           torch::Dtype dtype = torch::kDouble) const;
  // Fails the test, naming the file to add, when no reference is registered.
  void require_reference() const;
  ReferenceOutput reference_output(const AttentionVariant& variant, const nlohmann::json& options,
                                   const Sample& s) const;
};

// Runs `check` for every plugin in build/plugins, each in its own SECTION "<plugin>: <what>",
// with the random seed reset.
void for_each_plugin(const std::string& what,
                     const std::function<void(const PluginUnderTest&)>& check);

// lower_snake_case: [a-z][a-z0-9]* words joined by single underscores.
bool is_snake_case(const std::string& name);

}  // namespace attnlab::test::conformance
