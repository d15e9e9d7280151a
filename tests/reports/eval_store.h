// A results store with evaluation rows for the report tests: dense and fixed_window with two
// finished seeds each, every eval/* entry (docs/EVALUATION.md) with random values, an older
// row of eval/val_loss that the report must not use, and gated_window with one finished seed and
// no evals (an older run). The values written are kept to check the report against.
#pragma once
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace attnlab::reports::testing {

inline const std::vector<std::string> kEvalArms = {"dense", "fixed_window"};
inline const std::vector<int64_t> kBucketStarts = {0, 32, 64, 96, 128, 160};  // 32 wide
inline const std::vector<int64_t> kGaps = {4, 16, 64, 256};
inline const std::vector<int64_t> kPasskeyLengths = {256, 512, 1024};
inline const std::vector<double> kPasskeyDepths = {0.0, 0.5, 1.0};

// One seed's values, as written.
struct SeedEvals {
  double loss, perplexity;
  std::vector<double> position_loss;  // per bucket
  std::vector<double> mqar_accuracy;  // per gap
  double mqar_overall;
  std::vector<std::vector<double>> passkey;  // [length][depth]
  double tokens_per_s, cache_bytes_per_token, cache_peak_bytes;
};

struct EvalExperiment {
  std::string db_path, name;
  std::map<std::string, std::vector<SeedEvals>> seeds;  // arm -> one per seed
  std::map<std::string, std::vector<int64_t>> run_ids;  // arm -> one per seed
};

EvalExperiment make_eval_store(const std::string& tag, std::mt19937& rng);

}  // namespace attnlab::reports::testing
