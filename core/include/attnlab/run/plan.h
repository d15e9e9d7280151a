// The plan of an experiment, printed by `attnlab run --dry-run` and `attnlab config show`
// before any check that needs this machine: for each cell its run name, parameters, FLOPs per
// token, tokens per step and total training FLOPs (and its status in the store, when known),
// then the eval tasks the runs are evaluated on after training (eval.tasks).
#pragma once
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "attnlab/spec/run_spec.h"

namespace attnlab::run {

// `status` maps run names to their stored status; a run absent from it is "new".
void print_plan(std::ostream& out, const std::vector<spec::RunSpec>& specs, int world_size,
                const std::map<std::string, std::string>& status = {});

}  // namespace attnlab::run
