// Assembles the report of one experiment: tables in every requested format, figures, and
// report.md tying them together with the data behind each number (see report.h).
#include "attnlab/reports/report.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <sstream>

#include "attnlab/reports/data_exports.h"
#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/tables.h"
#include "cells.h"
#include "method.h"
#include "write_file.h"

namespace attnlab::reports {

namespace fs = std::filesystem;

namespace {

std::string utc_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
  return buf;
}

template <class T>
std::string join(const std::vector<T>& items, const std::string& sep) {
  std::ostringstream out;
  for (size_t i = 0; i < items.size(); ++i) out << (i ? sep : "") << items[i];
  return out.str();
}

std::string range_text(std::vector<double> xs, std::string (*format)(double)) {
  if (xs.empty()) return cells::kNone;
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  return *lo == *hi ? format(*lo) : format(*lo) + "–" + format(*hi);
}

// The "Data" section: what every number in the report is computed from.
std::string data_section(const ExperimentData& data, const std::string& baseline) {
  std::vector<const RunData*> all;
  std::vector<int64_t> seeds;
  std::vector<std::string> versions;
  std::vector<double> steps, tokens;
  for (const auto& run : data.runs) {
    all.push_back(&run);
    seeds.push_back(run.record.seed);
    if (!run.record.code_version.empty()) versions.push_back(run.record.code_version);
    if (run.finished()) {
      steps.push_back(static_cast<double>(run.steps));
      if (run.tokens_seen) tokens.push_back(*run.tokens_seen);
    }
  }
  for (auto* v : {&versions}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  std::ostringstream out;
  out << "## Data\n\n"
      << "- Store: `" << data.db_path << "`, experiment `" << data.name << "`\n"
      << "- Runs: " << data.runs.size() << " (" << cells::status_summary(all) << ")\n"
      << "- Plugins: " << join(data.plugins(), ", ") << "\n"
      << "- Arms: " << join(data.arm_names(), "; ") << "; baseline: " << baseline << "\n"
      << "- Seeds: " << (seeds.empty() ? cells::kNone : join(seeds, ", ")) << "\n"
      << "- Steps per finished run: "
      << range_text(steps, [](double v) { return cells::fixed(v, 0); }) << "\n"
      << "- Tokens per finished run: " << range_text(tokens, cells::count) << "\n"
      << "- Code version: " << (versions.empty() ? cells::kNone : join(versions, ", "))
      << (versions.size() > 1 ? " (runs differ in code version)" : "") << "\n";
  size_t evaluated = 0, finished = 0;
  for (const auto& run : data.runs) {
    finished += run.finished();
    evaluated += run.finished() && run.evals.any();
  }
  out << "- Evaluation (`attnlab eval`): "
      << (evaluated
              ? std::to_string(evaluated) + " of " + std::to_string(finished) + " finished runs"
              : std::string("none; `attnlab eval RUN` on a finished run adds it"))
      << "\n";
  for (const auto& arm : data.arm_names()) {
    if (data.final_val_losses(arm).size() == 1) {
      out << "- " << arm << ": n = 1, no error bars\n";
    }
  }
  return out.str() + "\n";
}

std::string figure_markdown(const Figure& f) {
  if (!f.rendered) {
    return "- " + f.caption + ": not drawn; script `figures/" + f.id + ".gp`, data `figures/" +
           f.id + ".dat`\n";
  }
  return "![" + f.caption + "](figures/" + f.id + ".png)\n\n*" + f.caption + "* ([PDF](figures/" +
         f.id + ".pdf), [script](figures/" + f.id + ".gp))\n\n";
}

bool is_evaluation(const Table& table) { return table.id.rfind("eval_", 0) == 0; }

// "## Evaluation": what `attnlab eval` measured, each table followed by its figures (the
// figures of section "evaluation" whose id starts with the table's id less "eval_").
std::string evaluation_section(const std::vector<Table>& tables,
                               const std::vector<std::string>& gaps, const FiguresResult& figures) {
  std::ostringstream md;
  md << "## Evaluation\n\n"
     << "Measured by `attnlab eval` on each finished run (its last row of each eval; "
        "docs/EVALUATION.md), with the statistics of the main table over the seeds of each "
        "arm.\n\n";
  for (const auto& gap : gaps) md << "> " << gap << "\n\n";
  for (const auto& table : tables) {
    if (!is_evaluation(table)) continue;
    md << "### " << table.title << "\n\n" << to_markdown(table) << "\n";
    for (const auto& f : figures.figures) {
      if (f.section == "evaluation" && f.id.rfind(table.id.substr(5), 0) == 0) {
        md << figure_markdown(f);
      }
    }
  }
  return md.str();
}

}  // namespace

const std::set<std::string> kFormats = {"md", "tex", "csv", "json", "metrics"};

std::set<std::string> parse_formats(const std::string& list) {
  std::set<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!kFormats.count(item)) {
      throw ReportError("--format: unknown format '" + item + "' in '" + list +
                        "' (expected a comma-separated subset of md,tex,csv,json,metrics)");
    }
    out.insert(item);
  }
  if (out.empty()) throw ReportError("--format: empty list (expected e.g. md,tex,csv)");
  return out;
}

ReportOutput write_report(const store::Store& store, const ReportOptions& options) {
  const ExperimentData data = load_experiment(store, options.experiment);
  const std::string baseline = resolve_baseline(data, options.baseline);
  ReportOutput output;
  output.out_dir = options.out_dir.empty() ? fs::path("results") / "reports" / options.experiment
                                           : options.out_dir;
  auto wants = [&](const char* format) { return options.formats.count(format) > 0; };
  auto emit = [&](const fs::path& relative, const std::string& content) {
    write_file(output.out_dir / relative, content);
    output.files.push_back(output.out_dir / relative);
  };

  std::vector<Table> tables = {main_table(data, baseline)};
  const std::string unavailable = ablation_unavailable(data);
  std::optional<Table> ablation = unavailable.empty() ? ablation_table(data) : std::nullopt;
  const std::string ablation_note =
      !unavailable.empty()
          ? unavailable
          : "No ablation table: the experiment's config has no report.ablation_rows (a list of "
            "{label, variant}, each naming an arm or a plugin with one arm, first row the full "
            "model); see docs/REPORTS.md.";
  if (ablation) {
    tables.push_back(*ablation);
  } else {
    output.notes.push_back(ablation_note);
  }
  tables.push_back(efficiency_table(data, baseline));
  if (auto stats = attention_stats_table(data)) tables.push_back(*stats);
  if (auto isoflop = isoflop_table(data)) tables.push_back(*isoflop);
  const auto eval_tables = evaluation_tables(data, baseline);
  tables.insert(tables.end(), eval_tables.begin(), eval_tables.end());
  tables.push_back(runs_table(data));

  FiguresResult figures = write_figures(data, output.out_dir / "figures", options.figures);
  for (const auto& f : figures.figures) {
    for (const char* ext : {".gp", ".dat", ".png", ".pdf"}) {
      if (fs::exists(output.out_dir / "figures" / (f.id + ext))) {
        output.files.push_back(output.out_dir / "figures" / (f.id + ext));
      }
    }
  }
  output.notes.insert(output.notes.end(), figures.notes.begin(), figures.notes.end());

  std::string latex = "% Tables of experiment " + data.name +
                      ", written by attnlab report.\n"
                      "% \\input{tables.tex} in a document with \\usepackage{booktabs,graphicx}.\n";
  for (const auto& table : tables) {
    if (wants("md"))
      emit(fs::path("tables") / (table.id + ".md"),
           "## " + table.title + "\n\n" + to_markdown(table));
    if (wants("tex")) emit(fs::path("tables") / (table.id + ".tex"), to_latex(table));
    if (wants("csv")) emit(fs::path("tables") / (table.id + ".csv"), to_csv(table));
    latex += "\n" + to_latex(table);
  }
  if (wants("tex")) emit("tables.tex", latex);
  if (wants("json")) emit("report.json", report_json(data, baseline, tables, output.notes).dump(2));
  if (wants("metrics")) {
    write_metrics_csv(store, data, output.out_dir / "metrics.csv");
    output.files.push_back(output.out_dir / "metrics.csv");
  }

  if (wants("md")) {
    std::ostringstream md;
    md << "# Report: " << data.name << "\n\nGenerated " << utc_now() << " by `attnlab report`.\n\n"
       << data_section(data, baseline);
    for (const auto& table : tables) {
      if (is_evaluation(table)) continue;
      if (table.id == "efficiency" && !ablation) md << "## Ablation\n\n" << ablation_note << "\n\n";
      if (table.id == "runs" && !eval_tables.empty()) {
        md << evaluation_section(eval_tables, evaluation_gaps(data), figures);
      }
      md << "## " << table.title << "\n\n" << to_markdown(table) << "\n";
    }
    md << "## Figures\n\n";
    for (const auto& f : figures.figures) {
      if (f.section.empty()) md << figure_markdown(f);
    }
    for (const auto& note : figures.notes) md << "\n> " << note << "\n";
    md << "\n" << method_section(data);
    const std::string text = md.str();
    write_file(output.out_dir / "report.md", text);
    output.files.insert(output.files.begin(), output.out_dir / "report.md");
  }
  return output;
}

}  // namespace attnlab::reports
