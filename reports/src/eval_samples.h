// The seed samples of the evaluation results (internal): per arm, the values of its finished
// runs' last eval/* rows, keyed by what they were measured at (bucket, gap, length × depth).
// Non-finite values (null in the store) are left out. Tables and figures both read these.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "attnlab/reports/experiment_data.h"

namespace attnlab::reports {

using Samples = std::vector<double>;             // one value per seed
using Bucket = std::pair<int64_t, int64_t>;      // input positions [first, second)
using PasskeyCell = std::pair<int64_t, double>;  // (length, depth)

Samples val_loss_samples(const ExperimentData& data, const std::string& arm,
                         double ValLossEval::*field);
Samples generation_samples(const ExperimentData& data, const std::string& arm,
                           double GenerationEval::*field);
std::map<Bucket, Samples> position_loss_samples(const ExperimentData& data, const std::string& arm);
std::map<int64_t, Samples> mqar_samples(const ExperimentData& data,
                                        const std::string& arm);  // by gap
Samples mqar_overall_samples(const ExperimentData& data, const std::string& arm);
std::map<PasskeyCell, Samples> passkey_samples(const ExperimentData& data, const std::string& arm);

// The arms (baseline first, see arms_baseline_first) with a finished run for which `has` is
// true (e.g. it has an eval/mqar row).
std::vector<std::string> arms_with(const ExperimentData& data, const std::string& baseline,
                                   bool (*has)(const RunEvals&));
// The arms without it, in arm order, for a table's note.
std::vector<std::string> arms_without(const ExperimentData& data, bool (*has)(const RunEvals&));

// The keys of a map of samples per arm, merged over arms, in order.
template <class Key>
std::vector<Key> merged_keys(const std::vector<std::map<Key, Samples>>& per_arm) {
  std::map<Key, bool> keys;
  for (const auto& m : per_arm) {
    for (const auto& entry : m) keys[entry.first] = true;
  }
  std::vector<Key> out;
  for (const auto& entry : keys) out.push_back(entry.first);
  return out;
}

}  // namespace attnlab::reports
