// The Evaluation section and the generation columns of the efficiency table, for a store with
// random eval/* rows: every mean and std shown checked against values computed here from what
// was written; malformed rows name the run and the eval; a store without eval rows has no
// Evaluation section.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attnlab/reports/report.h"
#include "attnlab/reports/stats.h"
#include "attnlab/reports/tables.h"
#include "attnlab/store/store.h"
#include "eval_store.h"
#include "fresh_rng.h"
#include "synthetic_store.h"
#include "table_checks.h"

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

const Table& table_named(const std::vector<Table>& tables, const std::string& id) {
  for (const auto& t : tables) {
    if (t.id == id) return t;
  }
  FAIL("no table " << id);
  throw;
}

// The values of `pick(seed)` over the arm's seeds.
template <class Pick>
std::vector<double> over_seeds(const EvalExperiment& e, const std::string& arm, Pick pick) {
  std::vector<double> out;
  for (const auto& s : e.seeds.at(arm)) out.push_back(pick(s));
  return out;
}

void check_mean_std(const Table& t, const std::vector<std::string>& row, const std::string& col,
                    const std::vector<double>& xs) {
  INFO(row[0] << " " << col);
  CHECK(std::stod(row.at(column(t, col + "_mean"))) == Approx(avg(xs)).epsilon(1e-9));
  CHECK(std::stod(row.at(column(t, col + "_std"))) == Approx(sd(xs)).epsilon(1e-8));
}

std::string g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

TEST_CASE("evaluation tables: means and stds over seeds of every eval") {
  FreshRng fresh;
  INFO("seed " << fresh.seed);
  const auto e = make_eval_store("evaluation_tables", fresh.engine);
  attnlab::store::Store store(e.db_path);
  const auto data = load_experiment(store, e.name);
  const auto tables = evaluation_tables(data, "dense");
  REQUIRE(tables.size() == 4);

  // Held-out loss and perplexity: the last row (step 100), not the earlier one.
  const Table& vl = table_named(tables, "eval_val_loss");
  REQUIRE(vl.data_rows.size() == 2);  // gated_window has no evals
  CHECK(vl.rows[0][0].text == "dense");
  for (const auto& arm : kEvalArms) {
    const auto loss = over_seeds(e, arm, [](const SeedEvals& s) { return s.loss; });
    const auto ppl = over_seeds(e, arm, [](const SeedEvals& s) { return s.perplexity; });
    check_mean_std(vl, data_row(vl, arm), "loss", loss);
    check_mean_std(vl, data_row(vl, arm), "perplexity", ppl);
    CHECK(number(vl, arm, "n") == 2);
    CHECK(number(vl, arm, "tokens_mean") == 8192);
  }
  const auto loss_of = [&](const std::string& arm) {
    return over_seeds(e, arm, [](const SeedEvals& s) { return s.loss; });
  };
  const auto fw = loss_of("fixed_window"), dense = loss_of("dense");
  CHECK(number(vl, "fixed_window", "loss_delta") == Approx(avg(fw) - avg(dense)).epsilon(1e-9));
  const double sa = sd(fw) * sd(fw) / 2, sb = sd(dense) * sd(dense) / 2;
  CHECK(number(vl, "fixed_window", "loss_t") ==
        Approx((avg(fw) - avg(dense)) / std::sqrt(sa + sb)).epsilon(1e-8));
  CHECK(vl.rows[0][3].text == "baseline");

  // Per-position loss at the first, middle and last bucket.
  const Table& pl = table_named(tables, "eval_position_loss");
  for (const auto& arm : kEvalArms) {
    for (const size_t b : {size_t{0}, size_t{2}, size_t{5}}) {
      const std::string key =
          "loss_" + std::to_string(kBucketStarts[b]) + "_" + std::to_string(kBucketStarts[b] + 32);
      check_mean_std(pl, data_row(pl, arm), key,
                     over_seeds(e, arm, [&](const SeedEvals& s) { return s.position_loss[b]; }));
    }
  }
  CHECK(pl.header[2] == "Loss at [0, 32)");
  CHECK(pl.header[4] == "Loss at [160, 192)");
  const auto last = [&](const std::string& arm) {
    return over_seeds(e, arm, [](const SeedEvals& s) { return s.position_loss[5]; });
  };
  CHECK(number(pl, "fixed_window", "last_bucket_delta") ==
        Approx(avg(last("fixed_window")) - avg(last("dense"))).epsilon(1e-9));

  // MQAR per gap and overall; the display cells too.
  const Table& mq = table_named(tables, "eval_mqar");
  for (const auto& arm : kEvalArms) {
    for (size_t i = 0; i < kGaps.size(); ++i) {
      check_mean_std(mq, data_row(mq, arm), "accuracy_gap_" + std::to_string(kGaps[i]),
                     over_seeds(e, arm, [&](const SeedEvals& s) { return s.mqar_accuracy[i]; }));
    }
    check_mean_std(mq, data_row(mq, arm), "overall",
                   over_seeds(e, arm, [](const SeedEvals& s) { return s.mqar_overall; }));
  }
  const auto gap16 = over_seeds(e, "dense", [](const SeedEvals& s) { return s.mqar_accuracy[1]; });
  char expected[64];
  std::snprintf(expected, sizeof expected, "%.3f ± %.3f", avg(gap16), sd(gap16));
  CHECK(mq.header[3] == "gap 16");
  CHECK(mq.rows[0][3].text == expected);

  // Passkey: a row per (arm, length), a column per depth.
  const Table& pk = table_named(tables, "eval_passkey");
  REQUIRE(pk.data_rows.size() == kEvalArms.size() * kPasskeyLengths.size());
  for (size_t a = 0; a < kEvalArms.size(); ++a) {
    for (size_t l = 0; l < kPasskeyLengths.size(); ++l) {
      const auto& row = pk.data_rows[a * kPasskeyLengths.size() + l];
      CHECK(row[0] == kEvalArms[a]);
      CHECK(row[1] == std::to_string(kPasskeyLengths[l]));
      for (size_t d = 0; d < kPasskeyDepths.size(); ++d) {
        check_mean_std(
            pk, row, "accuracy_depth_" + g(kPasskeyDepths[d]),
            over_seeds(e, kEvalArms[a], [&](const SeedEvals& s) { return s.passkey[l][d]; }));
      }
    }
  }
  // gated_window has no evaluation at all: named once, by evaluation_gaps, with its run and
  // the command; the tables' notes name only arms that miss one eval among others.
  const auto gaps = evaluation_gaps(data);
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].find("No evaluation for gated_window: no eval/* rows in the finished runs run4") !=
        std::string::npos);
  CHECK(gaps[0].find("`attnlab eval RUN`") != std::string::npos);
  for (const auto& t : tables) CHECK(t.notes.size() == 1);
}

TEST_CASE("an arm missing one eval among others is named under that table") {
  FreshRng fresh;
  INFO("seed " << fresh.seed);
  const auto e = make_eval_store("evaluation_partial", fresh.engine);
  {
    attnlab::store::Store store(e.db_path);
    const auto gw = store.runs(e.name).back();  // gated_window: MQAR only
    store.log_eval(
        gw.id, 3, "eval/mqar",
        R"({"gaps": [4], "accuracy": [0.25], "correct": [1], "total": [4], "overall": 0.25})");
  }
  attnlab::store::Store store(e.db_path);
  const auto data = load_experiment(store, e.name);
  CHECK(evaluation_gaps(data).empty());
  const auto tables = evaluation_tables(data, "dense");
  CHECK(number(table_named(tables, "eval_mqar"), "gated_window", "accuracy_gap_4_mean") == 0.25);
  const Table& vl = table_named(tables, "eval_val_loss");
  REQUIRE(vl.notes.size() == 2);
  CHECK(vl.notes[1] ==
        "No eval/val_loss for gated_window (no finished run has it): `attnlab eval "
        "RUN` adds it.");
}

TEST_CASE("the evaluation tables compile in LaTeX", "[.pdflatex]") {
  FreshRng fresh;
  const auto e = make_eval_store("evaluation_latex", fresh.engine);
  attnlab::store::Store store(e.db_path);
  ReportOptions options;
  options.experiment = e.name;
  options.out_dir = fs::path(e.db_path).parent_path() / "report";
  options.formats = {"tex"};
  options.figures.gnuplot = "";
  write_report(store, options);
  std::ofstream(options.out_dir / "doc.tex")
      << "\\documentclass{article}\n\\usepackage{booktabs,graphicx}\n\\begin{document}\n"
         "\\input{tables.tex}\n\\end{document}\n";
  const std::string cmd =
      "cd '" + options.out_dir.string() +
      "' && pdflatex -interaction=nonstopmode -halt-on-error doc.tex > doc.out 2>&1";
  CHECK(slurp(options.out_dir / "tables.tex").find("MQAR accuracy against gap") !=
        std::string::npos);
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(slurp(options.out_dir / "doc.log").find("Overfull \\hbox") == std::string::npos);
}

TEST_CASE("efficiency table: KV cache per token, peak cache and generation tokens/s") {
  FreshRng fresh;
  INFO("seed " << fresh.seed);
  const auto e = make_eval_store("evaluation_efficiency", fresh.engine);
  attnlab::store::Store store(e.db_path);
  const Table t = efficiency_table(load_experiment(store, e.name), "dense");
  REQUIRE(t.header.size() == 14);
  CHECK(t.header[11] == "KV cache / token");
  for (const auto& arm : kEvalArms) {
    INFO(arm);
    const auto tps = over_seeds(e, arm, [](const SeedEvals& s) { return s.tokens_per_s; });
    CHECK(number(t, arm, "generation_tokens_per_s_mean") == Approx(avg(tps)).epsilon(1e-9));
    CHECK(number(t, arm, "generation_tokens_per_s_std") == Approx(sd(tps)).epsilon(1e-8));
    CHECK(number(t, arm, "kv_cache_bytes_per_token") ==
          Approx(
              avg(over_seeds(e, arm, [](const SeedEvals& s) { return s.cache_bytes_per_token; }))));
    CHECK(number(t, arm, "kv_cache_peak_bytes") ==
          Approx(avg(over_seeds(e, arm, [](const SeedEvals& s) { return s.cache_peak_bytes; }))));
    CHECK(data_row(t, arm)[column(t, "generation_rolling_cache")] ==
          (arm == "fixed_window" ? "yes" : "no"));
  }
  char expected[64];
  const auto tps = over_seeds(e, "dense", [](const SeedEvals& s) { return s.tokens_per_s; });
  std::snprintf(expected, sizeof expected, "%.1f ± %.1f", avg(tps), sd(tps));
  CHECK(t.rows[0][13].text == expected);
  CHECK(t.rows[1][12].text.find("(rolling)") != std::string::npos);
  CHECK(t.rows[2][0].text == "gated_window");  // no generation eval: shown empty
  CHECK(t.rows[2][13].text == "—");
}

TEST_CASE("write_report: the Evaluation section, its CSVs and figure data") {
  FreshRng fresh;
  INFO("seed " << fresh.seed);
  const auto e = make_eval_store("evaluation_report", fresh.engine);
  attnlab::store::Store store(e.db_path);
  ReportOptions options;
  options.experiment = e.name;
  options.out_dir = fs::path(e.db_path).parent_path() / "report";
  options.figures.gnuplot = "/nonexistent/gnuplot";
  write_report(store, options);
  const std::string md = slurp(options.out_dir / "report.md");
  for (const char* expected :
       {"## Evaluation", "### Held-out loss and perplexity", "### Loss by input position",
        "### MQAR accuracy against gap", "### Passkey retrieval accuracy",
        "No evaluation for gated_window", "Evaluation (`attnlab eval`): 4 of 5 finished runs",
        "figures/mqar_accuracy.gp", "figures/passkey_dense.gp", "figures/position_loss.gp",
        "KV cache / token"}) {
    INFO(expected);
    CHECK(md.find(expected) != std::string::npos);
  }
  // The section sits before the runs table; its figures are not repeated under Figures.
  CHECK(md.find("## Evaluation") < md.find("## Runs"));
  CHECK(md.find("figures/mqar_accuracy.gp") < md.find("## Runs"));
  CHECK(md.rfind("figures/mqar_accuracy.gp") == md.find("figures/mqar_accuracy.gp"));
  for (const char* id : {"eval_val_loss", "eval_position_loss", "eval_mqar", "eval_passkey"}) {
    for (const char* ext : {".md", ".tex", ".csv"}) {
      INFO(id << ext);
      CHECK(fs::file_size(options.out_dir / "tables" / (std::string(id) + ext)) > 0);
    }
  }
  CHECK(slurp(options.out_dir / "tables" / "eval_mqar.csv")
            .rfind("arm,n,accuracy_gap_4_mean,accuracy_gap_4_std,", 0) == 0);

  // MQAR figure data: one block per arm, "gap mean min max n" with the seed mean.
  std::ifstream mqar(options.out_dir / "figures" / "mqar_accuracy.dat");
  std::string line, arm;
  size_t points = 0;
  while (std::getline(mqar, line)) {
    if (line.rfind("# ", 0) == 0) {
      arm = line.substr(2, line.find(':') - 2);
      continue;
    }
    if (line.empty()) continue;
    std::istringstream fields(line);
    double gap = 0, m = 0, lo = 0, hi = 0, n = 0;
    fields >> gap >> m >> lo >> hi >> n;
    const size_t i =
        std::find(kGaps.begin(), kGaps.end(), static_cast<int64_t>(gap)) - kGaps.begin();
    REQUIRE(i < kGaps.size());
    const auto xs = over_seeds(e, arm, [&](const SeedEvals& s) { return s.mqar_accuracy[i]; });
    INFO(line);
    CHECK(m == Approx(avg(xs)).epsilon(1e-6));
    CHECK(lo == Approx(std::min(xs[0], xs[1])).epsilon(1e-6));
    CHECK(n == 2);
    ++points;
  }
  CHECK(points == kEvalArms.size() * kGaps.size());

  // Passkey heatmap data: lengths as lines, depths as columns, the seed mean.
  std::ifstream heat(options.out_dir / "figures" / "passkey_fixed_window.dat");
  for (size_t l = 0; l < kPasskeyLengths.size(); ++l) {
    for (size_t d = 0; d < kPasskeyDepths.size(); ++d) {
      double value = -1;
      heat >> value;
      CHECK(value == Approx(avg(over_seeds(e, "fixed_window", [&](const SeedEvals& s) {
                       return s.passkey[l][d];
                     }))).epsilon(1e-6));
    }
  }
  const std::string script = slurp(options.out_dir / "figures" / "passkey_fixed_window.gp");
  CHECK(script.find("set ytics (\"256\" 0, \"512\" 1, \"1024\" 2)") != std::string::npos);
  CHECK(script.find("set xlabel \"depth\"") != std::string::npos);
}

TEST_CASE("evaluation figures are drawn", "[.gnuplot]") {
  FreshRng fresh;
  const auto e = make_eval_store("evaluation_figures", fresh.engine);
  attnlab::store::Store store(e.db_path);
  ReportOptions options;
  options.experiment = e.name;
  options.out_dir = fs::path(e.db_path).parent_path() / "report";
  options.formats = {"md"};
  const auto out = write_report(store, options);
  for (const auto& note : out.notes) INFO(note);
  for (const char* id :
       {"position_loss", "mqar_accuracy", "passkey_dense", "passkey_fixed_window"}) {
    INFO(id);
    const std::string png = slurp(options.out_dir / "figures" / (std::string(id) + ".png"));
    REQUIRE(png.size() > 1000);
    CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  }
  CHECK(slurp(options.out_dir / "report.md").find("![") != std::string::npos);
}

TEST_CASE("malformed eval rows are errors naming the run and the eval") {
  struct Case {
    const char* name;
    const char* value_json;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"eval/mqar",
       R"({"gaps": [1, 2], "accuracy": [0.5], "correct": [1, 2], "total": [4, 4], "overall": 0.4})",
       "'accuracy' has 1 entries but 'gaps' has 2"},
      {"eval/passkey", R"({"lengths": [256], "depths": [0, 1], "accuracy": [[1.0]], "trials": 4})",
       "'accuracy[0]' has 1 entries but 'depths' has 2"},
      {"eval/val_loss", R"({"loss": "3.2", "perplexity": 24.5, "tokens": 10})",
       "'loss' holds \"3.2\", not a number"},
      {"eval/position_loss", R"([1, 2, 3])", "is not a JSON object"},
      {"eval/generation",
       R"({"tokens_per_s": 10, "cache_bytes_per_token": 64, "cache_peak_bytes": 640,
           "prompt_tokens": 4, "new_tokens": 8, "rolling": 1})",
       "'rolling' is not true or false"},
      {"eval/mqar",
       R"({"gaps": [1.5], "accuracy": [0.5], "correct": [1], "total": [2], "overall": 0.5})",
       "'gaps' holds 1.5, not an integer"},
      {"eval/position_loss", R"({"bucket_start": [0], "bucket_end": [8], "loss": [2.0]})",
       "has no 'tokens'"},
  };
  for (const auto& c : cases) {
    INFO(c.name << " " << c.value_json);
    const std::string db = fresh_store_path("evaluation_malformed");
    attnlab::store::Store store(db);
    store.upsert_experiment("bad", "experiments/bad.yaml", "{}");
    add_finished_run(store, "bad", "dense", 0, {{"attention", {{"variant", "dense"}}}}, 3.0,
                     std::nullopt);
    const auto run = store.runs("bad").back();
    store.log_eval(run.id, 7, c.name, c.value_json);
    CHECK_THROWS_AS(load_experiment(store, "bad"), ReportError);
    CHECK_THROWS_WITH(load_experiment(store, "bad"),
                      Catch::Contains("run " + std::to_string(run.id) + " (" + run.name + ")") &&
                          Catch::Contains(std::string("eval ") + c.name + " at step 7") &&
                          Catch::Contains(c.says) && Catch::Contains("attnlab eval"));
  }
}

TEST_CASE("null values (non-finite) are left out of the statistics") {
  const std::string db = fresh_store_path("evaluation_null");
  attnlab::store::Store store(db);
  store.upsert_experiment("nulls", "experiments/nulls.yaml", "{}");
  for (int64_t seed = 0; seed < 2; ++seed) {
    add_finished_run(store, "nulls", "dense", seed, {{"attention", {{"variant", "dense"}}}}, 3.0,
                     std::nullopt);
    const auto run = store.runs("nulls").back();
    store.log_eval(
        run.id, 1, "eval/position_loss",
        nlohmann::json{{"bucket_start", {0, 8}},
                       {"bucket_end", {8, 16}},
                       {"loss", {seed == 0 ? nlohmann::json() : nlohmann::json(2.5), 3.0 + seed}},
                       {"tokens", {seed == 0 ? 0 : 8, 8}}}
            .dump());
  }
  const auto tables = evaluation_tables(load_experiment(store, "nulls"), "dense");
  const Table& pl = table_named(tables, "eval_position_loss");
  CHECK(number(pl, "dense", "loss_0_8_mean") == 2.5);              // one seed had no tokens there
  CHECK(data_row(pl, "dense")[column(pl, "loss_0_8_std")] == "");  // n = 1: no std
  CHECK(number(pl, "dense", "loss_8_16_mean") == Approx(3.5));
}

TEST_CASE("a store without eval rows has no Evaluation section") {
  auto synth = make_synthetic_store("evaluation_none", "");
  attnlab::store::Store store(synth.db_path);
  const auto data = load_experiment(store, synth.name);
  CHECK(evaluation_tables(data, "dense").empty());
  const Table efficiency = efficiency_table(data, "dense");
  CHECK(efficiency.header.size() == 11);  // no generation columns shown
  CHECK(data_row(efficiency, "dense")[column(efficiency, "kv_cache_bytes_per_token")] == "");
  ReportOptions options;
  options.experiment = synth.name;
  options.out_dir = fs::path(synth.db_path).parent_path() / "report";
  options.formats = {"md", "csv"};
  options.figures.gnuplot = "/nonexistent/gnuplot";
  write_report(store, options);
  const std::string md = slurp(options.out_dir / "report.md");
  CHECK(md.find("## Evaluation") == std::string::npos);
  CHECK(md.find("Evaluation (`attnlab eval`): none; `attnlab eval RUN`") != std::string::npos);
  CHECK_FALSE(fs::exists(options.out_dir / "tables" / "eval_mqar.csv"));
  CHECK_FALSE(fs::exists(options.out_dir / "figures" / "mqar_accuracy.dat"));
}
