// Trains one validated matrix cell: builds the model with the cell's attention plugin, the
// data loaders and the trainer, records what the run is (parameters, FLOPs, plugin hash) and
// streams its metrics into the sink.
#pragma once
#include <atomic>
#include <filesystem>

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
};

TrainResult run_cell(const config::ResolvedConfig& cell, plugin::PluginRegistry& plugins,
                     MetricsSink& sink, const CellOptions& options);

// SHA-256 of the config sections a checkpoint must agree with to be resumed (model, data,
// attention, train without its logging keys, seed).
std::string config_fingerprint(const config::ResolvedConfig& cell);

// Intra-op threads for a config value: 0 means every core of this machine.
int resolve_threads(int64_t configured);

}  // namespace attnlab::train
