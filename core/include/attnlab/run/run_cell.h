// Trains one checked RunSpec: builds its model and data loaders and the trainer, records what
// the run is (parameters, FLOPs, plugin hash) and streams its metrics into the sink; returns
// the trained model with the result, for the evaluation after training (eval_runs.h).
#pragma once
#include <atomic>
#include <filesystem>
#include <string>

#include "attnlab/plugin/registry.h"
#include "attnlab/spec/run_spec.h"
#include "attnlab/train/metrics_sink.h"
#include "attnlab/train/trainer.h"

namespace attnlab::dist {
class Communicator;  // attnlab/dist/communicator.h
}

namespace attnlab::run {

struct CellOptions {
  std::filesystem::path run_dir;  // checkpoints go to <run_dir>/checkpoints; empty: none
  bool restart = false;           // discard existing checkpoints instead of resuming
  const std::atomic<bool>* stop_requested = nullptr;
  std::string log_prefix;
  dist::Communicator* dist = nullptr;  // data-parallel: this rank's process group (null: one process)
  int intra_op_threads = 0;      // a launcher's share of the cores, used when train.threads=0
  // Where the measured peak FLOP/s (for MFU) is cached; empty: probe each time.
  std::filesystem::path peak_flops_cache;
};

struct CellResult {
  train::TrainResult train;
  model::Decoder model{nullptr};  // the trained model, still on its device (to evaluate it)
};

CellResult run_cell(const spec::RunSpec& spec, plugin::PluginRegistry& plugins,
                    train::MetricsSink& sink, const CellOptions& options);

}  // namespace attnlab::run
