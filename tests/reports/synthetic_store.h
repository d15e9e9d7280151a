// Small synthetic results stores for the report tests. The ablation store: five plugins with
// 3, 3, 2 and 1 finished seeds, a failed, a running and a pending run, curves whose crossing
// points are known in closed form, run facts, gate activations and benchmark rows. The sweep
// store: one plugin swept over two windows beside dense, three seeds each (arms).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "attnlab/store/store.h"

namespace attnlab::reports::testing {

inline constexpr int kLastStep = 100;     // val/loss every 20 steps, train/loss every step
inline constexpr double kValSlope = 2.0;  // val/loss(step) = final + kValSlope * (1 - step / 100)
inline constexpr double kTokensPerStep = 4096;

struct SyntheticExperiment {
  std::string db_path, name;
  // Finished runs per variant, in seed order.
  std::map<std::string, std::vector<double>> final_val_loss, tokens_per_s, peak_bytes;
  std::map<std::string, double> n_params;
  std::vector<std::vector<double>> gate_mean_LH;  // mean over gated_window's seeds
  int total_runs = 0;
};

// Builds the store at a fresh path under the build tree. `report_section` is the JSON of the
// runs' `report:` config section ("" for none).
SyntheticExperiment make_synthetic_store(const std::string& tag, const std::string& report_section);

// The tokens/s stored for a `bench train` row of the latest setup (tiny, batch 4, cpu).
double train_bench_tokens_per_s(const std::string& variant, int64_t seq);

// The memory above its inputs stored for a `bench attention` row (peak_bytes is 4x that).
inline int64_t bench_attention_extra_bytes(int64_t seq) { return seq * seq * 16; }

// A `report:` section mapping the seed paper's Table 1 rows to variants.
std::string ablation_report_section();

// A fresh store path for `tag` under the build tree: its directory exists and is empty.
std::string fresh_store_path(const std::string& tag);

// Adds a finished run of `plugin` whose resolved config is `config` with `seed` set: val/loss
// every 20 steps to kLastStep, final + kValSlope * (1 - step / 100); run info mfu_mean when
// given.
void add_finished_run(attnlab::store::Store& store, const std::string& experiment,
                      const std::string& plugin, int64_t seed, nlohmann::json config,
                      double final_loss, std::optional<double> mfu_mean);

inline constexpr int kSweepWindows[] = {128, 256};

// gated_window at attention.options.window 128 and 256, and dense, seeds 0, 1, 2 each; the
// seeds also differ in bookkeeping keys (train.log_every, train.eval_every). gated_window runs
// log mfu_mean, dense runs do not.
struct SweepExperiment {
  std::string db_path, name;
  // Per arm, in seed order; keyed "dense", "window=128", "window=256".
  std::map<std::string, std::vector<double>> final_val_loss, mfu_mean;
};
// `report`: the runs' `report:` section (null: none); `order_seed`: data.order_seed of every
// run (null: absent).
SweepExperiment make_sweep_store(const std::string& tag, const nlohmann::json& report,
                                 const nlohmann::json& order_seed);

}  // namespace attnlab::reports::testing
