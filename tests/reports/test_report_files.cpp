// The files `attnlab report` writes for a synthetic store: report.md, tables in three formats,
// figures (PNG/PDF magic), the install hint without gnuplot, and a LaTeX build of tables.tex.
// The figure and LaTeX cases are hidden ([.gnuplot], [.pdflatex]): CTest runs each as its own
// test through tests/common/with_tool.sh, which decides what a missing tool means (skip, or
// fail under CI).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "attnlab/reports/report.h"
#include "attnlab/store/store.h"
#include "synthetic_store.h"

using namespace attnlab::reports;
using namespace attnlab::reports::testing;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("write_report: report.md, tables.tex, tables/*.{md,tex,csv}") {
  auto synth = make_synthetic_store("files", ablation_report_section());
  attnlab::store::Store store(synth.db_path);
  ReportOptions options;
  options.experiment = synth.name;
  options.out_dir = fs::path(synth.db_path).parent_path() / "report";
  options.figures.gnuplot = "/nonexistent/gnuplot";  // figures are their own test case
  options.figures.log_x = true;
  const auto out = write_report(store, options);

  REQUIRE(out.files.front() == options.out_dir / "report.md");
  for (const char* table : {"main", "ablation", "efficiency", "runs"}) {
    for (const char* ext : {".md", ".tex", ".csv"}) {
      INFO(table << ext);
      CHECK(fs::file_size(options.out_dir / "tables" / (std::string(table) + ext)) > 0);
    }
  }
  const std::string md = slurp(options.out_dir / "report.md");
  for (const char* expected :
       {"## Main results", "## Ablation", "## Training efficiency", "## Runs", "Full Model",
        "No Window", "gated_dense", "1 running, 1 pending", "failed", "n = 1, no error bars",
        "abc1234", "Seeds: 0, 1, 2", "apt-get install gnuplot-nox", "loss became NaN"}) {
    INFO(expected);
    CHECK(md.find(expected) != std::string::npos);
  }
  const std::string tex = slurp(options.out_dir / "tables.tex");
  CHECK(tex.find("\\toprule") != std::string::npos);
  CHECK(tex.find("\\textbf{") != std::string::npos);
  CHECK(tex.find("$\\pm$") != std::string::npos);
  CHECK(tex.find("gated\\_window") != std::string::npos);
  CHECK(tex.find("±") == std::string::npos);  // every symbol mapped for pdflatex
  const std::string csv = slurp(options.out_dir / "tables" / "main.csv");
  CHECK(csv.rfind("arm,runs,n,val_loss_mean,val_loss_std,delta,ci_low,ci_high,t,df,p_value,"
                  "significant\n",
                  0) == 0);

  // Without gnuplot the scripts and data are still there, no images.
  CHECK(fs::file_size(options.out_dir / "figures" / "loss_val.gp") > 0);
  CHECK(fs::file_size(options.out_dir / "figures" / "loss_val.dat") > 0);
  CHECK_FALSE(fs::exists(options.out_dir / "figures" / "loss_val.png"));
  CHECK(slurp(options.out_dir / "figures" / "loss_val.gp").find("set logscale x") !=
        std::string::npos);
  bool hint = false;
  for (const auto& note : out.notes)
    hint |= note.find("apt-get install gnuplot-nox") != std::string::npos;
  CHECK(hint);

  // Only CSV: no report.md, no LaTeX.
  ReportOptions csv_only = options;
  csv_only.out_dir = fs::path(synth.db_path).parent_path() / "report_csv";
  csv_only.formats = parse_formats("csv");
  write_report(store, csv_only);
  CHECK(fs::exists(csv_only.out_dir / "tables" / "main.csv"));
  CHECK_FALSE(fs::exists(csv_only.out_dir / "report.md"));
  CHECK_FALSE(fs::exists(csv_only.out_dir / "tables.tex"));
  CHECK_THROWS_WITH(parse_formats("md,pdf"), Catch::Contains("unknown format 'pdf'"));
}

TEST_CASE("figures: PNG and PDF beside their .gp and .dat", "[.gnuplot]") {
  auto synth = make_synthetic_store("figures", "");
  attnlab::store::Store store(synth.db_path);
  ReportOptions options;
  options.experiment = synth.name;
  options.out_dir = fs::path(synth.db_path).parent_path() / "report";
  options.formats = {"md"};
  const auto out = write_report(store, options);
  for (const auto& note : out.notes) INFO(note);
  const fs::path dir = options.out_dir / "figures";
  for (const char* id : {"loss_train", "loss_val", "val_loss_bar", "bench_attention_throughput",
                         "bench_attention_memory", "bench_train_throughput", "bench_train_memory",
                         "gates_gated_window"}) {
    INFO(id);
    const std::string png = slurp(dir / (std::string(id) + ".png"));
    REQUIRE(png.size() > 1000);
    CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    CHECK(slurp(dir / (std::string(id) + ".pdf")).compare(0, 5, "%PDF-") == 0);
    CHECK(fs::file_size(dir / (std::string(id) + ".gp")) > 0);
    CHECK(fs::file_size(dir / (std::string(id) + ".dat")) > 0);
  }
  // The heatmap data is the seed mean of the logged gates, layers as lines.
  std::ifstream gates(dir / "gates_gated_window.dat");
  for (const auto& layer : synth.gate_mean_LH) {
    for (double expected : layer) {
      double value = 0;
      gates >> value;
      CHECK(value == Approx(expected).epsilon(1e-6));
    }
  }
  // Training-step throughput: the latest setup only, one block per experiment variant.
  std::ifstream train_tput(dir / "bench_train_throughput.dat");
  std::string line;
  std::vector<std::string> variants;
  size_t points = 0;
  while (std::getline(train_tput, line)) {
    if (line.rfind("# ", 0) == 0) {
      variants.push_back(line.substr(2, line.find(':') - 2));
    } else if (!line.empty()) {
      std::istringstream fields(line);
      int64_t seq = 0;
      double tps = 0;
      fields >> seq >> tps;
      INFO(line);
      CHECK(tps == Approx(train_bench_tokens_per_s(variants.back(), seq)).epsilon(1e-6));
      ++points;
    }
  }
  CHECK(variants == std::vector<std::string>{"dense", "gated_window"});
  CHECK(points == 6);
  // Attention memory: what the kernel allocates above its inputs, not the process peak.
  std::ifstream attention_memory(dir / "bench_attention_memory.dat");
  size_t memory_points = 0;
  while (std::getline(attention_memory, line)) {
    if (line.empty()) continue;
    INFO(line);
    if (line.rfind("# ", 0) == 0) {
      CHECK(line.find("memory above inputs") != std::string::npos);
      continue;
    }
    std::istringstream fields(line);
    int64_t seq = 0;
    double mib = 0;
    fields >> seq >> mib;
    CHECK(mib == Approx(bench_attention_extra_bytes(seq) / (1024.0 * 1024.0)).epsilon(1e-6));
    ++memory_points;
  }
  CHECK(memory_points == 8);
  const std::string md = slurp(options.out_dir / "report.md");
  CHECK(md.find("![") != std::string::npos);
  CHECK(md.find("figures/loss_val.png") != std::string::npos);
}

TEST_CASE("tables.tex compiles in a minimal document", "[.pdflatex]") {
  auto synth = make_synthetic_store("latex", ablation_report_section());
  attnlab::store::Store store(synth.db_path);
  ReportOptions options;
  options.experiment = synth.name;
  options.out_dir = fs::path(synth.db_path).parent_path() / "report";
  options.formats = {"tex"};
  options.figures.gnuplot = "";
  write_report(store, options);
  std::ofstream(options.out_dir / "doc.tex")
      << "\\documentclass{article}\n\\usepackage{booktabs,graphicx}\n\\begin{document}\n"
         "\\input{tables.tex}\n\\end{document}\n";
  const std::string cmd =
      "cd '" + options.out_dir.string() +
      "' && pdflatex -interaction=nonstopmode -halt-on-error doc.tex > doc.out 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(fs::exists(options.out_dir / "doc.pdf"));
  // Every table fits the text width (wide ones are scaled down).
  CHECK(slurp(options.out_dir / "doc.log").find("Overfull \\hbox") == std::string::npos);
}
