// The report's Method section (internal): how runs are grouped and the statistics computed, and
// which sources of run-to-run variance the seeds cover.
#pragma once
#include <string>

#include "attnlab/reports/experiment_data.h"

namespace attnlab::reports {

// "## Method" and its paragraph. Its last sentence says which sources of variance the seeds
// cover, from each run's data.order_seed: absent or negative, the data order follows `seed`
// (seeds cover initialisation and data order); a fixed order_seed leaves the seeds covering the
// initialisation only. When arms differ in this, it names the arms of each kind.
std::string method_section(const ExperimentData& data);

}  // namespace attnlab::reports
