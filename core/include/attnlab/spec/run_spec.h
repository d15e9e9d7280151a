// RunSpec: one matrix cell as the typed, checked description of a run, built right after
// composition and before anything is written or trained. `attnlab config show`,
// `attnlab run --dry-run` and `attnlab run` all go through build_run_specs, so they reject the
// same inputs with the same message (file:line:column of the key, or the override that set it).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attnlab/config/config.h"
#include "attnlab/data/loader.h"
#include "attnlab/model/model_config.h"
#include "attnlab/train/train_config.h"

namespace attnlab::plugin {
class PluginRegistry;
}

namespace attnlab::spec {

struct RunSpec {
  config::ResolvedConfig cell;    // composed and schema-validated: the origin of every key
  model::ModelConfig model;
  std::string variant;            // attention plugin
  nlohmann::json variant_options;  // attention.options, completed with the plugin's defaults
  train::TrainConfig train;
  data::LoaderOptions data;       // one process's view (rank 0 of 1); order_seed resolved
  uint64_t seed = 0;
  std::string experiment;         // checked: a safe directory name
  std::string run_name;           // checked; unique within the experiment (run_names.h)
  nlohmann::json identity;        // config::results_identity of the tree
  std::string fingerprint;        // SHA-256 of `identity`: what a checkpoint must agree with
  int64_t parameter_count = 0;    // the model's, including the variant's own parameters
  double flops_per_token = 0;     // training FLOPs: 6N dense + the variant's attention
  // With train.flop_budget: the steps the budget buys before rounding (train.steps is the
  // rounded value); 0 otherwise.
  double budget_steps_exact = 0;

  // FLOPs of the whole run over `world_size` ranks: flops_per_token * tokens/step * steps.
  double total_flops(int world_size = 1) const;
};

struct SpecRequest {
  std::string experiment;                          // a YAML path or a name in config_dirs
  std::vector<std::string> overrides;              // command line, sweeps included
  std::vector<std::filesystem::path> config_dirs;  // search path for groups and experiments
  bool name_by_overrides = false;  // `attnlab train`: the overrides name the run too
  int world_size = 1;  // ranks per run: the steps train.flop_budget buys depend on it
};

// Composes the experiment, validates every cell against the product schemas and builds the
// typed specs with their run names. Model shape and plugin options are checked here; device
// support and data (check_runnable) are not, so a plan can be shown for configs this machine
// cannot train. Throws config::ConfigError.
std::vector<RunSpec> build_run_specs(const SpecRequest& request,
                                     std::shared_ptr<plugin::PluginRegistry> plugins);

// train.flop_budget: sets spec.train.steps (and train.steps in spec.cell.tree) to the whole
// number of steps whose training FLOPs at `world_size` ranks come nearest the budget, and
// spec.budget_steps_exact. Checks train.steps: 0 exactly when a budget is set, or without a
// budget when train.init_from is set (a run of no step). Throws config::ConfigError at the key.
void apply_flop_budget(RunSpec& spec, int world_size);

// Everything else a run needs before it starts, for every spec: this build supports its
// device and dtype, its data files exist with readable shard headers, hold enough tokens for
// train.seq_len and data.val_tokens, and fit data.vocab_size. Throws config::ConfigError at
// the offending key.
void check_runnable(const std::vector<RunSpec>& specs);

// Intra-op threads for a config value: 0 means every core of this machine.
int resolve_threads(int64_t configured);

}  // namespace attnlab::spec
