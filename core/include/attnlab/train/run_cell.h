// Trains one validated matrix cell: builds the model with the cell's attention plugin, the
// data loaders and the trainer, records what the run is (parameters, FLOPs, plugin hash) and
// streams its metrics into the sink.
#pragma once
#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attnlab/config/config.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/train/metrics_sink.h"
#include "attnlab/train/trainer.h"

namespace attnlab::train {

class Communicator;  // distributed.h

struct CellOptions {
  std::filesystem::path run_dir;  // checkpoints go to <run_dir>/checkpoints; empty: none
  bool restart = false;           // discard existing checkpoints instead of resuming
  const std::atomic<bool>* stop_requested = nullptr;
  std::string log_prefix;
  Communicator* dist = nullptr;  // data-parallel: this rank's process group (null: one process)
  int intra_op_threads = 0;      // a launcher's share of the cores, used when train.threads=0
  // Where the measured peak FLOP/s (for MFU) is cached; empty: probe each time.
  std::filesystem::path peak_flops_cache;
};

TrainResult run_cell(const config::ResolvedConfig& cell, plugin::PluginRegistry& plugins,
                     MetricsSink& sink, const CellOptions& options);

// The config sections a run's results depend on (model, data, attention, train without its
// logging and bookkeeping keys, seed) of a composed config tree.
nlohmann::json results_relevant_config(const nlohmann::json& tree);

// SHA-256 of results_relevant_config: what a checkpoint must agree with to be resumed.
std::string config_fingerprint(const config::ResolvedConfig& cell);

// Intra-op threads for a config value: 0 means every core of this machine.
int resolve_threads(int64_t configured);

}  // namespace attnlab::train
