// A small synthetic results store for the report tests: five variants of an ablation with
// 3, 3, 2 and 1 finished seeds, a failed, a running and a pending run, curves whose crossing
// points are known in closed form, run facts, gate activations and benchmark rows.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

}  // namespace attnlab::reports::testing
