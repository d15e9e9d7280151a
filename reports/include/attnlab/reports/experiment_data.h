// Everything a report needs about one experiment, read once from the store: every run (of any
// status) with its config, curves, facts and final numbers, the arms in order (see arms.h), the
// experiment's `report:` config section and the benchmark rows. Table and figure builders read
// only this.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "attnlab/reports/eval_data.h"
#include "attnlab/store/store.h"

namespace attnlab::reports {

// A report problem (unknown experiment, malformed report config, ...): one line naming the
// experiment or key and what to do.
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CurvePoint {
  int64_t step;
  double value;
};

struct RunData {
  store::RunRecord record;
  nlohmann::json config;  // record.config_json, parsed
  std::string arm;        // the name of the arm the run is a seed of
  std::vector<CurvePoint> train_loss, val_loss, tokens, step_time_s, tokens_per_s;
  std::vector<CurvePoint> entropy;  // attn/entropy (mean over layers) at the log interval
  std::map<std::string, std::string> info;  // run_info: key -> JSON text

  std::optional<double> final_val_loss;  // val/loss at its last step, if finite
  int64_t final_val_step = 0;
  int64_t steps = 0;                  // steps completed at the last train/loss, 0 if none
  std::optional<double> tokens_seen;  // last train/tokens
  // From run_info when logged, else derived from the curves (see docs/REPORTS.md).
  std::optional<double> n_params, flops_per_token, peak_memory_bytes;
  std::optional<double> training_flops;  // run_info training_flops: all ranks, every step
  // On a GPU: the caching allocator's peaks (run_info peak_gpu_allocated/reserved_bytes).
  std::optional<double> peak_gpu_allocated_bytes, peak_gpu_reserved_bytes;
  std::optional<double> mean_tokens_per_s;   // run_info tokens_per_s_mean, else the metric's mean
  std::optional<double> mfu_mean;            // run_info mfu_mean (a fraction of peak), if logged
  std::optional<double> median_step_time_s;  // median of train/step_time_s
  std::vector<std::vector<double>> gate_mean_LH;  // last `gate_mean` eval, empty if none
  // The last value of each attn/<statistic> metric (the variants' statistics, the attention
  // entropy), mean over layers, by statistic name without the prefix.
  std::map<std::string, double> final_attention_stats;
  RunEvals evals;  // the last eval/* rows (`attnlab eval`), each nullopt when absent

  bool finished() const { return record.status == "finished"; }
};

// The runs that are seeds of one configuration (arms.h says how arms are found and named).
struct Arm {
  std::string name;         // unique in the experiment: "dense", "gated_window window=128"
  std::string plugin;       // attention.variant of its runs
  nlohmann::json identity;  // config::arm_identity of its runs' resolved config
};

struct ExperimentData {
  std::string name;
  std::string db_path;
  std::vector<RunData> runs;     // every run, ordered by id
  std::vector<Arm> arms;         // in order of first run
  nlohmann::json report_config;  // the runs' resolved `report:` section, {} if none
  std::vector<store::BenchAttentionRecord> bench_attention;
  std::vector<store::BenchTrainRecord> bench_train;

  std::vector<std::string> arm_names() const;  // in arm order
  std::vector<std::string> plugins() const;    // in order of first arm, each once
  bool has_plugin(const std::string& plugin) const;
  std::vector<const RunData*> runs_of(const std::string& arm) const;
  // Final val losses of the arm's finished runs that logged one: the sample every statistic
  // uses.
  std::vector<double> final_val_losses(const std::string& arm) const;
  // Pairs of arms (in arm order) whose finished runs have the same seeds and, seed for seed,
  // bit-identical val/loss curves: at this experiment's settings they compute the same model,
  // so no table can tell them apart.
  std::vector<std::pair<std::string, std::string>> indistinguishable_arms() const;
};

// One sentence on each pair of indistinguishable_arms with both arms in `among` (empty: every
// pair), for a table's notes.
std::vector<std::string> indistinguishable_notes(const ExperimentData& data,
                                                 const std::vector<std::string>& among = {});

// Reads the experiment and groups its runs into arms; a name not in the store is a ReportError
// listing the ones that are.
ExperimentData load_experiment(const store::Store& store, const std::string& experiment);

}  // namespace attnlab::reports
