// Tiny runs for the evaluation tests: composed configs (FineWeb sample shards or MQAR) with a
// 1-layer decoder of random weights, built as `attnlab eval` builds a run's model.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "../common/tiny_experiment.h"
#include "attnlab/spec/build_model.h"

namespace attnlab::test {

inline std::shared_ptr<plugin::PluginRegistry> eval_plugins() { return built_plugins(); }

// The one spec of a tiny experiment on data group `data` ("fineweb_sample" or "mqar") with
// attention `attention`, plus `overrides`.
inline spec::RunSpec eval_spec(const std::string& data, const std::string& attention,
                               std::vector<std::string> overrides) {
  const auto file = write_experiment(
      {"attnlab_eval_test", "eval_" + data + "_" + attention, data, attention, 3, ""});
  std::vector<std::string> all = {"model.d_model=32", "model.head_dim=8", "model.ffn_hidden=64",
                                  "model.n_layer=1",  "train.threads=1",  "train.peak_flops=1e11"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return build_specs(file, all).front();
}

}  // namespace attnlab::test
