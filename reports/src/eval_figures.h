// The Evaluation section's figures (internal): loss against input position per arm
// (position_loss), MQAR accuracy against gap per arm (mqar_accuracy), each the mean over seeds
// with the min–max band, and one passkey heatmap per arm (passkey_<arm as a file stem>: length ×
// depth, mean accuracy over seeds). Only figures with data are written.
#pragma once
#include "attnlab/reports/experiment_data.h"
#include "figure_writer.h"

namespace attnlab::reports {

void eval_figures(const ExperimentData& data, FigureWriter& writer);

}  // namespace attnlab::reports
