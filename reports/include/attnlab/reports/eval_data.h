// The evaluations of one run as the report reads them: the last row (largest step) of each
// eval/* entry that `attnlab eval` (or evaluation after training) writes into the store's evals
// table, parsed and checked once. A run without a row has nullopt there (older runs); a row whose
// value_json has the wrong shape is a ReportError naming the run and the eval.
// Non-finite values arrive as JSON null and are held as NaN; every statistic skips them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attnlab/store/store.h"

namespace attnlab::reports {

// The eval names (docs/EVALUATION.md).
inline constexpr const char* kEvalValLoss = "eval/val_loss";
inline constexpr const char* kEvalPositionLoss = "eval/position_loss";
inline constexpr const char* kEvalMqar = "eval/mqar";
inline constexpr const char* kEvalPasskey = "eval/passkey";
inline constexpr const char* kEvalGeneration = "eval/generation";

// {"loss": x, "perplexity": x, "tokens": n}
struct ValLossEval {
  double loss = 0, perplexity = 0;
  int64_t tokens = 0;
};

// {"bucket_start": [..], "bucket_end": [..], "loss": [x or null], "tokens": [..]}: the mean
// loss of the predictions made at input positions [bucket_start, bucket_end).
struct PositionLossEval {
  std::vector<int64_t> bucket_start, bucket_end, tokens;
  std::vector<double> loss;  // NaN where null (a bucket with no tokens)
};

// {"gaps": [..], "accuracy": [..], "correct": [..], "total": [..], "overall": x}
struct MqarEval {
  std::vector<int64_t> gaps, correct, total;
  std::vector<double> accuracy;
  double overall = 0;
};

// {"lengths": [..], "depths": [..], "accuracy": [[per depth] per length], "trials": n}
struct PasskeyEval {
  std::vector<int64_t> lengths;
  std::vector<double> depths;
  std::vector<std::vector<double>> accuracy;  // [length][depth]
  int64_t trials = 0;
};

// {"tokens_per_s": x, "cache_bytes_per_token": n, "cache_peak_bytes": n, "prompt_tokens": n,
//  "new_tokens": n, "rolling": bool}
struct GenerationEval {
  double tokens_per_s = 0, cache_bytes_per_token = 0, cache_peak_bytes = 0;
  int64_t prompt_tokens = 0, new_tokens = 0;
  bool rolling = false;
};

struct RunEvals {
  std::optional<ValLossEval> val_loss;
  std::optional<PositionLossEval> position_loss;
  std::optional<MqarEval> mqar;
  std::optional<PasskeyEval> passkey;
  std::optional<GenerationEval> generation;

  bool any() const { return val_loss || position_loss || mqar || passkey || generation; }
};

// Reads and checks the run's eval/* rows (the largest step of each name).
RunEvals read_run_evals(const store::Store& store, const store::RunRecord& run);

}  // namespace attnlab::reports
