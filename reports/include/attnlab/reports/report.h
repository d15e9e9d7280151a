// `attnlab report`: the whole report of one experiment. Writes into the output directory:
//   report.md                        tables, figures and the data behind every number; an
//                                    Evaluation section when runs have eval/* rows
//   tables.tex                       every table, \input-able (needs \usepackage{booktabs})
//   tables/<id>.{md,tex,csv}         main, ablation, efficiency, runs, attention_stats,
//                                    isoflop, eval_val_loss, eval_position_loss, eval_mqar,
//                                    eval_passkey (those with data)
//   figures/<id>.{png,pdf,gp,dat}    see figures.h
//   report.json, metrics.csv         with the formats json and metrics (data_exports.h)
#pragma once
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "attnlab/reports/figures.h"
#include "attnlab/store/store.h"

namespace attnlab::reports {

struct ReportOptions {
  std::string experiment;
  std::filesystem::path out_dir;  // empty: results/reports/<experiment>
  std::set<std::string> formats = {"md", "tex", "csv"};
  std::string baseline;  // empty: report.baseline from the config, else dense
  FigureOptions figures;
};

struct ReportOutput {
  std::filesystem::path out_dir;
  std::vector<std::filesystem::path> files;  // everything written, report.md first
  std::vector<std::string> notes;            // omitted tables/figures and why
};

// The formats --format accepts: md, tex and csv (the tables; md also report.md), json
// (report.json) and metrics (metrics.csv).
extern const std::set<std::string> kFormats;

// Parses "--format md,tex,csv"; an unknown or empty format is a ReportError naming it.
std::set<std::string> parse_formats(const std::string& list);

ReportOutput write_report(const store::Store& store, const ReportOptions& options);

}  // namespace attnlab::reports
