// attnlab report: tables and figures of one experiment from the results store
// (reports/include/attnlab/reports/report.h), or the stored config of one run (--run --config).
#include <filesystem>
#include <iostream>
#include <set>

#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/report.h"
#include "attnlab/store/store.h"
#include "attnlab/train/metric_names.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {

namespace {

constexpr const char* kUsage =
    "--experiment NAME [--out DIR] [--db PATH] [--format md,tex,csv,json,metrics]\n"
    "       [--baseline ARM] "
    "[--logx]\n       attnlab report --run ID --config [--db PATH]\n"
    "       attnlab report --timing-metrics\n\n"
    "Writes report.md (tables, figures, the data behind every number), tables.tex (booktabs,\n"
    "\\input-able), tables/{main,ablation,efficiency,runs}.{md,tex,csv} (and eval_{val_loss,\n"
    "position_loss,mqar,passkey} when runs have eval/* rows: attnlab eval) and\n"
    "figures/*.{png,pdf,gp,dat} (gnuplot; without it only the .gp/.dat); with --format\n"
    "json,metrics also report.json and metrics.csv for notebooks. Statistics use\n"
    "finished runs grouped into arms (runs whose configs differ only in their seeds and\n"
    "bookkeeping keys): mean ± sample std over an arm's seeds, Welch's t-test and 95% CI of\n"
    "Δ vs the baseline arm. The ablation table's rows come from the config key report.ablation_rows.";

void print_run_config(const store::Store& store, int64_t run_id) {
  const auto run = store.run(run_id);
  std::cout << "# run " << run.id << ": " << run.experiment << "/" << run.name << " (variant "
            << run.variant << ", seed " << run.seed << ", " << run.status << ", code "
            << (run.code_version.empty() ? "unknown" : run.code_version) << ")\n"
            << "# overrides: " << run.overrides_json << "\n";
  if (!run.config_yaml.empty()) {
    std::cout << run.config_yaml << (run.config_yaml.back() == '\n' ? "" : "\n");
  } else {
    std::cout << nlohmann::json::parse(run.config_json).dump(2) << "\n";
  }
}

}  // namespace

int cmd_report(const Args& args) {
  po::options_description options("report");
  options.add_options()("experiment,e", po::value<std::string>(),
                        "experiment name (as in the store)")(
      "out,o", po::value<std::string>(), "output directory (default results/reports/<experiment>)")(
      "db", po::value<std::string>()->default_value(default_db_path()),
      "results store (env ATTNLAB_DB)")("format",
                                        po::value<std::string>()->default_value("md,tex,csv"),
                                        "what to write: subset of md,tex,csv (the tables; md "
                                        "also report.md), json (report.json: every table, "
                                        "arms, samples) and metrics (metrics.csv: every logged "
                                        "metric of every run)")(
      "baseline", po::value<std::string>(),
      "arm every Δ is taken against: an arm name, or a plugin with one arm (default: "
      "report.baseline, else dense)")(
      "logx", po::bool_switch(), "log-scale step axis on the loss curves")(
      "gnuplot", po::value<std::string>()->default_value("gnuplot"), "gnuplot program or path")(
      "run", po::value<int64_t>(), "with --config: the run whose stored config to print")(
      "config", po::bool_switch(), "print the stored resolved config and overrides of --run ID")(
      "timing-metrics", po::bool_switch(),
      "print the metrics computed from wall-clock time, one per line, then the fields of eval "
      "values that are, as EVAL:FIELD (they differ between two runs of one config; comparisons "
      "of runs skip them), and exit");
  auto parsed = parse_args("report", kUsage, options, args);
  if (parsed.help) return 0;
  const auto& vm = parsed.vm;
  if (vm["timing-metrics"].as<bool>()) {
    for (const char* name : metric::kTimingDerived) std::cout << name << "\n";
    for (const auto& f : metric::kTimingDerivedEvalFields) {
      std::cout << f.eval << ":" << f.field << "\n";
    }
    return 0;
  }

  std::set<std::string> formats;
  try {
    formats = reports::parse_formats(vm["format"].as<std::string>());
  } catch (const reports::ReportError& e) {
    throw UsageError(e.what());
  }
  const std::string db = vm["db"].as<std::string>();
  std::error_code ec;  // an unreadable location is left to the store's open, which names it
  if (!std::filesystem::exists(db, ec) && !ec) {
    throw UsageError("no results store at " + db +
                     " (train something with 'attnlab run' first, or pass --db PATH)");
  }
  const auto opened = store::open_store_to_read(db);  // read-only: never needs write access
  const store::Store& store = *opened;

  if (vm["config"].as<bool>() || vm.count("run")) {
    if (!vm["config"].as<bool>() || !vm.count("run")) {
      throw UsageError("--run ID and --config go together (print a run's stored config)");
    }
    print_run_config(store, vm["run"].as<int64_t>());
    return 0;
  }
  if (!vm.count("experiment")) {
    std::string known;
    for (const auto& name : store.experiments()) known += " " + name;
    throw UsageError("--experiment NAME is required (experiments in " + db + ":" +
                     (known.empty() ? " none" : known) + ")");
  }

  reports::ReportOptions report;
  report.experiment = vm["experiment"].as<std::string>();
  if (vm.count("out")) report.out_dir = vm["out"].as<std::string>();
  report.formats = formats;
  if (vm.count("baseline")) report.baseline = vm["baseline"].as<std::string>();
  report.figures.gnuplot = vm["gnuplot"].as<std::string>();
  report.figures.log_x = vm["logx"].as<bool>();

  std::cerr << "attnlab report: reading '" << report.experiment << "' from " << db
            << ", writing tables and figures...\n";
  const auto output = reports::write_report(store, report);
  for (const auto& note : output.notes) std::cerr << "note: " << note << "\n";
  std::cout << "wrote " << output.files.size() << " files to " << output.out_dir.string() << ":\n";
  for (const auto& file : output.files) {
    const auto ext = file.extension();
    if (ext == ".md" || ext == ".tex" || ext == ".csv" || ext == ".png" || ext == ".json") {
      std::cout << "  " << file.string() << "\n";
    }
  }
  return 0;
}

}  // namespace attnlab::cli
