// Tiny experiments for tests: an experiment file of the smoke defaults (model tiny, train
// smoke) on a chosen data group and attention, written to a fresh folder under the temp dir,
// composed and checked into RunSpecs with the plugins of this build. Header-only; needs the
// test target's ATTNLAB_BINARY_DIR, ATTNLAB_SOURCE_DIR and ATTNLAB_SHARED_DIR definitions.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "attnlab/plugin/registry.h"
#include "attnlab/spec/run_spec.h"

namespace attnlab::test {

// The plugins this build made (build/plugins), loaded once per test process.
inline std::shared_ptr<plugin::PluginRegistry> built_plugins() {
  static auto registry = std::make_shared<plugin::PluginRegistry>(
      std::filesystem::path(ATTNLAB_BINARY_DIR) / "plugins");
  return registry;
}

struct TinyExperiment {
  std::string folder = "attnlab_test";  // under the temp dir
  std::string name = "tiny";            // the file's stem (the experiment's default name)
  std::string data = "fineweb_sample";  // experiments/data/<data>.yaml
  std::string attention = "dense";      // experiments/attention/<attention>.yaml
  int seed = 0;
  std::string body;                     // YAML after `seed:`, e.g. "model:\n  n_layer: 1\n"
};

// Writes the experiment file and returns its path.
inline std::filesystem::path write_experiment(const TinyExperiment& e) {
  setenv("ATTNLAB_SHARED", ATTNLAB_SHARED_DIR, 0);
  const auto dir = std::filesystem::temp_directory_path() / e.folder;
  std::filesystem::create_directories(dir);
  const auto file = dir / (e.name + ".yaml");
  std::ofstream(file) << "defaults:\n  - model: tiny\n  - data: " << e.data
                      << "\n  - train: smoke\n  - attention: " << e.attention
                      << "\n  - _self_\nseed: " << e.seed << "\n"
                      << e.body;
  return file;
}

// Every cell of `file` with `overrides`, composed and checked (spec::build_run_specs).
inline std::vector<spec::RunSpec> build_specs(const std::filesystem::path& file,
                                              std::vector<std::string> overrides = {}) {
  return spec::build_run_specs(
      {file.string(), std::move(overrides),
       {std::filesystem::path(ATTNLAB_SOURCE_DIR) / "experiments"}},
      built_plugins());
}

}  // namespace attnlab::test
