// Arms: the runs of an experiment that are seeds of one configuration. Two runs are in one arm
// when their plugin and config::arm_identity (the resolved config without the seed keys and the
// keys that cannot change the math; attnlab/config/identity.h) are equal. Reports compute every
// statistic per arm, label rows and curves by arm name, and let the baseline and the ablation
// rows name an arm.
#pragma once
#include <string>

#include "attnlab/reports/experiment_data.h"

namespace attnlab::reports {

// Sets data.arms (in order of first run) and each run's `arm`. An arm is named by its plugin;
// when the plugin has several arms, each is named by the plugin and its values of the keys in
// which those arms differ ("gated_window window=128", "dense train.lr=0.001"; the options of
// attention.options by their last part, other keys dotted). When two names coincide (a string
// "128" and a number 128) that plugin's arms get the exact form instead: full dotted keys with
// JSON values ('attention.options.window="128"'). Names that still coincide are a ReportError.
void group_into_arms(ExperimentData& data);

// The arms' names, comma-separated, for messages.
std::string arm_list(const ExperimentData& data);

// Whether `reference` names an arm of this experiment or a plugin that has arms in it (one or
// several: resolve_arm tells which).
bool refers_to_arm(const ExperimentData& data, const std::string& reference);

// The arm `reference` picks: the arm of that exact name, else the only arm of the plugin of
// that name. An unknown name, or a plugin with several arms, is a ReportError that names
// `setting` (e.g. "--baseline"), lists the arms and says how to pick one.
const Arm& resolve_arm(const ExperimentData& data, const std::string& reference,
                       const std::string& setting);

}  // namespace attnlab::reports
