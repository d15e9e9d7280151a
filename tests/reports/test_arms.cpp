// Arms: runs grouped by their config without seeds and bookkeeping keys, named by what differs,
// referenced by the baseline and the ablation rows; statistics, MFU and the method's sources of
// variance per arm. Expected values are computed here from what the synthetic stores hold.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "attnlab/reports/arms.h"
#include "attnlab/reports/report.h"
#include "attnlab/reports/tables.h"
#include "attnlab/store/store.h"
#include "synthetic_store.h"
#include "table_checks.h"

using namespace attnlab::reports;
using namespace attnlab::reports::testing;
namespace fs = std::filesystem;

namespace {

const std::string kW128 = "gated_window window=128", kW256 = "gated_window window=256";

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// report.md of a sweep store whose runs have data.order_seed `order_seed` (null: absent).
std::string sweep_report_md(const std::string& tag, const nlohmann::json& order_seed) {
  const auto sweep = make_sweep_store(tag, nullptr, order_seed);
  attnlab::store::Store store(sweep.db_path);
  ReportOptions options;
  options.experiment = sweep.name;
  options.out_dir = fs::path(sweep.db_path).parent_path() / "report";
  options.formats = {"md"};
  options.figures.gnuplot = "/nonexistent/gnuplot";
  write_report(store, options);
  return slurp(options.out_dir / "report.md");
}

// A store of runs of one plugin whose resolved configs are `configs` (seed i for the i-th).
ExperimentData load_configs(const std::string& tag, const std::string& plugin,
                            const std::vector<nlohmann::json>& configs) {
  attnlab::store::Store store(fresh_store_path(tag));
  for (size_t i = 0; i < configs.size(); ++i) {
    add_finished_run(store, tag, plugin, static_cast<int64_t>(i), configs[i], 3.0 + 0.1 * i,
                     std::nullopt);
  }
  return load_experiment(store, tag);
}

}  // namespace

TEST_CASE("arms: one plugin swept over two windows is two arms, each with its own seeds") {
  const auto sweep = make_sweep_store("arms", nullptr, nullptr);
  attnlab::store::Store store(sweep.db_path);
  const auto data = load_experiment(store, sweep.name);
  REQUIRE(data.arm_names() == std::vector<std::string>{"dense", kW128, kW256});
  CHECK(data.plugins() == std::vector<std::string>{"dense", "gated_window"});

  REQUIRE(resolve_baseline(data, "dense") == "dense");
  const Table t = main_table(data, "dense");
  REQUIRE(t.rows.size() == 3);
  const auto& dense = sweep.final_val_loss.at("dense");
  for (const auto& [arm, key] : {std::pair{kW128, "window=128"}, {kW256, "window=256"}}) {
    INFO(arm);
    const auto& losses = sweep.final_val_loss.at(key);
    CHECK(number(t, arm, "n") == 3);
    CHECK(number(t, arm, "val_loss_mean") == Approx(avg(losses)).epsilon(1e-9));
    CHECK(number(t, arm, "val_loss_std") == Approx(sd(losses)).epsilon(1e-9));
    CHECK(number(t, arm, "delta") == Approx(avg(losses) - avg(dense)).epsilon(1e-9));
  }
  CHECK(number(t, "dense", "n") == 3);
  // The pooled mean of both windows is not what a windowed arm reports.
  std::vector<double> pooled = sweep.final_val_loss.at("window=128");
  for (double x : sweep.final_val_loss.at("window=256")) pooled.push_back(x);
  CHECK(number(t, kW128, "val_loss_mean") != Approx(avg(pooled)).epsilon(1e-6));

  // The runs table shows each run's arm.
  const Table runs = runs_table(data);
  size_t in_w256 = 0;
  for (const auto& row : runs.data_rows) in_w256 += row[column(runs, "arm")] == kW256;
  CHECK(in_w256 == 3);
}

TEST_CASE("arms: the baseline is an arm name, or a plugin with exactly one arm") {
  const auto sweep = make_sweep_store("baseline", nullptr, nullptr);
  attnlab::store::Store store(sweep.db_path);
  const auto data = load_experiment(store, sweep.name);
  CHECK(resolve_baseline(data, "") == "dense");  // the default, a plugin with one arm
  CHECK_THROWS_WITH(resolve_baseline(data, "gated_window"),
                    Catch::Contains("--baseline 'gated_window' is ambiguous") &&
                        Catch::Contains("'" + kW128 + "', '" + kW256 + "'") &&
                        Catch::Contains("name one of them exactly"));
  CHECK_THROWS_WITH(resolve_baseline(data, "window=128"),
                    Catch::Contains("not an arm or plugin") && Catch::Contains(kW256));
  REQUIRE(resolve_baseline(data, kW256) == kW256);
  const Table t = main_table(data, kW256);
  CHECK(t.rows[0][0].text == kW256);
  CHECK(number(t, kW128, "delta") == Approx(avg(sweep.final_val_loss.at("window=128")) -
                                            avg(sweep.final_val_loss.at("window=256")))
                                         .epsilon(1e-9));

  // The same rules for report.baseline in the config.
  const auto configured =
      make_sweep_store("baseline_config", {{"baseline", "gated_window"}}, nullptr);
  attnlab::store::Store configured_store(configured.db_path);
  CHECK_THROWS_WITH(resolve_baseline(load_experiment(configured_store, configured.name), ""),
                    Catch::Contains("report.baseline 'gated_window' is ambiguous"));

  // A configured baseline the experiment has no runs of (a shared report group): no Δ, said.
  const auto absent = make_sweep_store("baseline_absent", {{"baseline", "no_gating"}}, nullptr);
  attnlab::store::Store absent_store(absent.db_path);
  const auto absent_data = load_experiment(absent_store, absent.name);
  REQUIRE(resolve_baseline(absent_data, "") == "no_gating");
  const Table no_delta = main_table(absent_data, "no_gating");
  bool said = false;
  for (const auto& note : no_delta.notes) {
    said = said || (note.find("'no_gating' is not an arm") != std::string::npos &&
                    note.find("--baseline ARM") != std::string::npos);
  }
  CHECK(said);
  CHECK_THROWS_WITH(resolve_baseline(absent_data, "no_gating"),  // asked for on the command line
                    Catch::Contains("--baseline 'no_gating' is not an arm or plugin"));
}

TEST_CASE("arms: ablation rows name arms (variant: or arm:), a plugin with several is an error") {
  const nlohmann::json rows = {{{"label", "Window 128"}, {"arm", kW128}},
                               {{"label", "Window 256"}, {"variant", kW256}},
                               {{"label", "Dense"}, {"variant", "dense"}}};
  const auto sweep = make_sweep_store("ablation_arms", {{"ablation_rows", rows}}, nullptr);
  attnlab::store::Store store(sweep.db_path);
  const auto table = ablation_table(load_experiment(store, sweep.name));
  REQUIRE(table);
  REQUIRE(table->rows.size() == 3);
  CHECK(table->rows[1][1].text == kW256);
  CHECK(number(*table, "Dense", "delta") ==
        Approx(avg(sweep.final_val_loss.at("dense")) - avg(sweep.final_val_loss.at("window=128")))
            .epsilon(1e-9));

  const nlohmann::json ambiguous = {{{"label", "Full"}, {"variant", "gated_window"}}};
  const auto bad = make_sweep_store("ablation_ambiguous", {{"ablation_rows", ambiguous}}, nullptr);
  attnlab::store::Store bad_store(bad.db_path);
  CHECK_THROWS_WITH(
      ablation_table(load_experiment(bad_store, bad.name)),
      Catch::Contains("report.ablation_rows[0].variant 'gated_window' is ambiguous") &&
          Catch::Contains(kW128) && Catch::Contains(kW256));
  CHECK(ablation_unavailable(load_experiment(bad_store, bad.name)).empty());

  // Rows naming plugins the experiment has no runs of: no table, a note listing them and the arms.
  const nlohmann::json foreign = {{{"label", "Full"}, {"variant", "dense"}},
                                  {{"label", "No gating"}, {"variant", "no_gating"}}};
  const auto other = make_sweep_store("ablation_foreign", {{"ablation_rows", foreign}}, nullptr);
  attnlab::store::Store other_store(other.db_path);
  const auto why = ablation_unavailable(load_experiment(other_store, other.name));
  CHECK(why.find("'no_gating'") != std::string::npos);
  CHECK(why.find("'dense'") == std::string::npos);
  CHECK(why.find(kW128) != std::string::npos);
}

TEST_CASE("arms: runs differing only in a bookkeeping key and the seed are one arm") {
  const nlohmann::json base = {{"attention", {{"variant", "dense"}}}, {"train", {{"lr", 1e-3}}}};
  nlohmann::json log_10 = base, log_50 = base, other_lr = base;
  log_10["train"]["log_every"] = 10;
  log_50["train"]["log_every"] = 50;
  other_lr["train"]["lr"] = 1e-2;
  const auto one = load_configs("bookkeeping", "dense", {log_10, log_50});
  REQUIRE(one.arm_names() == std::vector<std::string>{"dense"});
  CHECK(one.final_val_losses("dense").size() == 2);

  // A key that changes the math splits the plugin; its arms are named by that dotted key.
  const auto two = load_configs("bookkeeping_lr", "dense", {log_10, log_50, other_lr});
  REQUIRE(two.arm_names() ==
          std::vector<std::string>{"dense train.lr=0.001", "dense train.lr=0.01"});
  CHECK(two.final_val_losses("dense train.lr=0.001").size() == 2);
  CHECK_THROWS_WITH(resolve_baseline(two, ""),
                    Catch::Contains("the default baseline (no --baseline or report.baseline) "
                                    "'dense' is ambiguous"));
  REQUIRE(two.final_val_losses("dense train.lr=0.01").size() == 1);
  CHECK(two.final_val_losses("dense train.lr=0.01")[0] == Approx(3.0 + 0.1 * 2));
}

TEST_CASE("arms: names that would coincide fall back to exact keys and JSON values") {
  nlohmann::json as_string = {{"attention", {{"variant", "p"}, {"options", {{"window", "128"}}}}}};
  nlohmann::json as_number = as_string;
  as_number["attention"]["options"]["window"] = 128;
  const auto data = load_configs("exact_names", "p", {as_string, as_number});
  CHECK(data.arm_names() == std::vector<std::string>{"p attention.options.window=\"128\"",
                                                     "p attention.options.window=128"});

  // Configs that differ only in how a dotted key is nested cannot be named apart.
  nlohmann::json nested = {{"train", {{"a", {{"b", 1}}}}}};
  nlohmann::json dotted = {{"train", {{"a.b", 1}}}};
  CHECK_THROWS_WITH(
      load_configs("dotted_key", "p", {nested, dotted}),
      Catch::Contains("two arms are both named 'p'") && Catch::Contains("contains a '.'"));
}

TEST_CASE("arms: MFU per arm in the efficiency table, n/a when not logged") {
  const auto sweep = make_sweep_store("mfu", nullptr, nullptr);
  attnlab::store::Store store(sweep.db_path);
  const Table t = efficiency_table(load_experiment(store, sweep.name), "dense");
  const size_t mfu_column = 4;
  REQUIRE(t.header[mfu_column] == "MFU");
  REQUIRE(t.header[mfu_column - 1] == "Tokens/s (mean ± std)");
  for (const auto& [arm, key] : {std::pair{kW128, "window=128"}, {kW256, "window=256"}}) {
    INFO(arm);
    const double expected = avg(sweep.mfu_mean.at(key));
    CHECK(number(t, arm, "mfu_mean") == Approx(expected).epsilon(1e-9));
    char text[32];
    std::snprintf(text, sizeof text, "%.1f%%", 100 * expected);
    const auto& row = t.rows[arm == kW128 ? 1 : 2];
    CHECK(row[0].text == arm);
    CHECK(row[mfu_column].text == text);
  }
  CHECK(t.rows[0][0].text == "dense");
  CHECK(t.rows[0][mfu_column].text == "n/a");
  CHECK(data_row(t, "dense")[column(t, "mfu_mean")].empty());
}

TEST_CASE("arms: the method says which sources of variance the seeds cover") {
  const std::string follows = sweep_report_md("order_follows", nullptr);
  const std::string negative = sweep_report_md("order_negative", -1);
  const std::string fixed = sweep_report_md("order_fixed", 7);
  CHECK(follows.find("covers initialisation and data order") != std::string::npos);
  CHECK(negative.find("covers initialisation and data order") != std::string::npos);
  CHECK(fixed.find("covers initialisation and data order") == std::string::npos);
  CHECK(fixed.find("data order is fixed (data.order_seed = 7)") != std::string::npos);
  CHECK(fixed.find("the seeds cover the initialisation only") != std::string::npos);
  // The data section and the figures' data name the arms.
  CHECK(follows.find("- Arms: dense; " + kW128 + "; " + kW256 + "; baseline: dense") !=
        std::string::npos);
  const fs::path figures = fs::path(ATTNLAB_BINARY_DIR) / "test_tmp" / "reports" / "order_follows" /
                           "report" / "figures";
  const std::string curves = slurp(figures / "loss_val.dat");
  CHECK(curves.find("# " + kW128 + ": step") != std::string::npos);
  CHECK(curves.find("# " + kW256 + ": step") != std::string::npos);
}
