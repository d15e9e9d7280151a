// The report's Method section (see method.h).
#include "method.h"

#include <algorithm>

#include "attnlab/config/identity.h"

namespace attnlab::reports {

namespace {

// The run's data.order_seed when it fixes the data order (a number >= 0); nullptr when the
// order follows `seed`.
const nlohmann::json* fixed_order_seed(const RunData& run) {
  const auto data = run.config.find("data");
  if (data == run.config.end() || !data->is_object()) return nullptr;
  const auto seed = data->find("order_seed");
  if (seed == data->end() || !seed->is_number() || seed->get<double>() < 0) return nullptr;
  return &*seed;
}

void add_once(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The sources of variance the seeds cover (see method.h).
std::string variance_sources(const ExperimentData& data) {
  std::vector<std::string> following, fixed, values;  // arms in arm order; fixed order seeds
  for (const auto& arm : data.arm_names()) {
    for (const auto* run : data.runs_of(arm)) {
      const nlohmann::json* order_seed = fixed_order_seed(*run);
      add_once(order_seed ? fixed : following, arm);
      if (order_seed) add_once(values, order_seed->dump());
    }
  }
  if (fixed.empty()) {
    return "Sources of variance: each run's seed sets both the initialisation and the data order "
           "(data.order_seed is absent or negative, so it follows seed): the spread over seeds "
           "covers initialisation and data order.";
  }
  if (following.empty()) {
    return "Sources of variance: the data order is fixed (data.order_seed = " + joined(values) +
           "), so the seeds cover the initialisation only: the spread over seeds does not "
           "include the variance from the data order.";
  }
  return "Sources of variance differ between arms: the seeds cover initialisation and data order "
         "(data.order_seed follows seed) in " +
         joined(following) + "; the initialisation only (data.order_seed fixed at " +
         joined(values) + ") in " + joined(fixed) + ".";
}

}  // namespace

std::string method_section(const ExperimentData& data) {
  return "## Method\n\n"
         "Runs are grouped into arms: runs whose resolved configs are equal once the seed keys (" +
         joined(config::seed_keys()) + ") and the keys that cannot change the results (" +
         joined(config::bookkeeping_keys()) +
         ") are left out are seeds of one arm. Each statistic is computed per arm "
         "from its finished runs that logged a val/loss; the final val loss of a run is its last "
         "val/loss. Spread is the sample standard deviation (n − 1). Δ vs the baseline arm comes "
         "with a 95% confidence interval from Welch's t distribution (Welch–Satterthwaite "
         "degrees of freedom) and a two-sided Welch's t-test p-value; p ≥ 0.05 is marked not "
         "significant. With one seed there are no error bars. Runs that are pending, running, "
         "preempted or failed are listed with their state and left out of the statistics. " +
         variance_sources(data) + "\n";
}

}  // namespace attnlab::reports
