// The report's figures, drawn by gnuplot: loss curves per arm (mean line, min–max band over
// seeds), the attention entropy (attn/entropy) per arm the same way, the final val loss bar
// chart per arm with error bars, throughput and memory against sequence length per plugin (from
// `attnlab bench`), per-layer/head gate heatmaps for arms that log gates (gates_<arm name as a
// file stem>), for isoFLOP runs the final val loss against parameters per budget and variant
// with its parabola fit (isoflop), and the evaluation figures (eval_figures.h: loss against
// position, MQAR accuracy against gap, passkey heatmaps). Each figure is <id>.png and <id>.pdf
// with <id>.gp and <id>.dat beside them.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "attnlab/reports/experiment_data.h"

namespace attnlab::reports {

struct FigureOptions {
  std::string gnuplot = "gnuplot";  // program name (searched on PATH) or path
  bool log_x = false;               // log-scale step axis on the loss curves
};

struct Figure {
  std::string id;         // file stem, e.g. "loss_val"
  std::string caption;    // one line for report.md
  bool rendered = false;  // PNG and PDF written (else only .gp and .dat)
  std::string section;    // "evaluation": shown in report.md's Evaluation section; "": Figures
};

struct FiguresResult {
  bool gnuplot_found = false;
  std::vector<Figure> figures;     // every figure whose data exists
  std::vector<std::string> notes;  // figures skipped and why, gnuplot problems
};

// Writes the data and scripts of every figure into `dir` and runs gnuplot on them when found.
// Without gnuplot the .gp/.dat are still written and a note says how to install it.
FiguresResult write_figures(const ExperimentData& data, const std::filesystem::path& dir,
                            const FigureOptions& options);

}  // namespace attnlab::reports
