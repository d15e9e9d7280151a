// report.json and metrics.csv of a synthetic store (`attnlab report --format json,metrics`):
// every number checked against the values the store was filled with, computed here; the JSON
// view of a table keeps names as strings and turns numeric columns into numbers.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "attnlab/reports/data_exports.h"
#include "attnlab/reports/report.h"
#include "attnlab/reports/table_json.h"
#include "attnlab/store/store.h"
#include "synthetic_store.h"

using namespace attnlab::reports;
using namespace attnlab::reports::testing;
namespace fs = std::filesystem;

namespace {

// RFC 4180 fields of one line (quoted fields may hold commas and doubled quotes).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

double mean_of(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs) sum += x;
  return sum / static_cast<double>(xs.size());
}

const nlohmann::json& table_with_id(const nlohmann::json& report, const std::string& id) {
  for (const auto& table : report["tables"]) {
    if (table["id"] == id) return table;
  }
  FAIL("report.json has no table " << id);
  throw std::logic_error("unreachable");
}

size_t column(const nlohmann::json& table, const std::string& name) {
  const auto& header = table["data"]["header"];
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  FAIL("no data column " << name);
  return 0;
}

struct Exported {
  SyntheticExperiment synth;
  fs::path out_dir;
};

Exported export_synthetic(const std::string& tag) {
  Exported out{make_synthetic_store(tag, ablation_report_section()), {}};
  attnlab::store::Store store(out.synth.db_path);
  ReportOptions options;
  options.experiment = out.synth.name;
  options.out_dir = fs::path(out.synth.db_path).parent_path() / "report";
  options.formats = parse_formats("json,metrics");
  options.figures.gnuplot = "/nonexistent/gnuplot";
  write_report(store, options);
  out.out_dir = options.out_dir;
  return out;
}

}  // namespace

TEST_CASE("report.json: every table, arms with their samples, numbers as numbers") {
  const auto exported = export_synthetic("json");
  CHECK_FALSE(fs::exists(exported.out_dir / "report.md"));  // only what was asked for
  std::ifstream in(exported.out_dir / "report.json");
  const auto report = nlohmann::json::parse(in);
  CHECK(report["experiment"] == exported.synth.name);
  CHECK(report["baseline"] == "dense");

  const auto& main = table_with_id(report, "main");
  const size_t arm_col = column(main, "arm"), mean_col = column(main, "val_loss_mean");
  size_t checked = 0;
  for (const auto& row : main["data"]["rows"]) {
    const auto it = exported.synth.final_val_loss.find(row[arm_col].get<std::string>());
    if (it == exported.synth.final_val_loss.end()) continue;
    REQUIRE(row[mean_col].is_number());
    CHECK(row[mean_col].get<double>() == Approx(mean_of(it->second)).epsilon(1e-9));
    ++checked;
  }
  CHECK(checked == exported.synth.final_val_loss.size());
  CHECK(main["rows"].size() == main["data"]["rows"].size());
  CHECK_FALSE(main["best"].empty());

  for (const auto& arm : report["arms"]) {
    INFO(arm["name"]);
    const auto plugin = arm["plugin"].get<std::string>();
    const auto& expected = exported.synth.final_val_loss.count(plugin)
                               ? exported.synth.final_val_loss.at(plugin)
                               : std::vector<double>{};
    CHECK(arm["final_val_losses"].get<std::vector<double>>() == expected);
  }
  const auto& runs = table_with_id(report, "runs");
  CHECK(runs["data"]["rows"].size() == static_cast<size_t>(exported.synth.total_runs));
  CHECK(runs["data"]["rows"][0][column(runs, "seed")].is_number());
  CHECK(runs["data"]["rows"][0][column(runs, "code_version")].is_string());
  for (const char* id : {"ablation", "efficiency"}) CHECK(table_with_id(report, id).is_object());
}

TEST_CASE("metrics.csv: every logged value of every run, exact to the last bit") {
  const auto exported = export_synthetic("metrics_csv");
  std::ifstream in(exported.out_dir / "metrics.csv");
  std::string line;
  std::getline(in, line);
  CHECK(line == kMetricsCsvHeader);
  std::map<std::string, size_t> rows_per_status;
  std::map<std::string, std::vector<double>> final_val_per_variant;
  while (std::getline(in, line)) {
    const auto f = csv_fields(line);
    REQUIRE(f.size() == 9);
    CHECK(f[1].find(",seed=") != std::string::npos);  // the quoted run name kept whole
    ++rows_per_status[f[5]];
    if (f[6] == "val/loss" && f[7] == std::to_string(kLastStep + 1) && f[5] == "finished") {
      final_val_per_variant[f[3]].push_back(std::stod(f[8]));
    }
  }
  // Per run: 5 train metrics at step indices 0..last, val/loss every 20 (synthetic_store.cpp);
  // the CSV's steps are completed steps, index + 1.
  const auto expected_rows = [](int last) { return (last + 1) * 5 + last / 20 + 1; };
  size_t n_finished = 0;
  for (const auto& [variant, losses] : exported.synth.final_val_loss) n_finished += losses.size();
  CHECK(rows_per_status["finished"] == n_finished * expected_rows(kLastStep));
  CHECK(rows_per_status["failed"] == static_cast<size_t>(expected_rows(40)));
  CHECK(rows_per_status["running"] == static_cast<size_t>(expected_rows(60)));
  CHECK(rows_per_status.count("pending") == 0);
  CHECK(final_val_per_variant == exported.synth.final_val_loss);  // %.17g round-trips
  CHECK_FALSE(fs::exists(exported.out_dir / "metrics.csv.partial"));
}

TEST_CASE("table JSON: names stay strings, empty and non-finite cells are null") {
  Table table;
  table.id = "t";
  table.rows = {{{"a", true}, {"1"}}, {{"b"}, {"2"}}};
  table.data_header = {"run", "value", "hexish", "code_version"};
  table.data_rows = {{"7", "1.5", "0x10", "1234567"}, {"8", "", "12", "abc1234"},
                     {"9", "nan", "3", "2345678"}};
  table.data_text_columns = {"code_version"};
  const auto json = to_json(table);
  const auto& rows = json["data"]["rows"];
  CHECK(rows[0][0] == 7);  // every value a number, not declared text: a number
  CHECK(rows[0][1] == 1.5);
  CHECK(rows[1][1].is_null());
  CHECK(rows[2][1].is_null());
  CHECK(rows[0][2] == "0x10");  // hex is not a decimal number: the column stays text
  CHECK(rows[1][2] == "12");
  CHECK(rows[0][3] == "1234567");  // declared text
  CHECK(json["best"] == nlohmann::json::parse("[[0, 0]]"));
  CHECK(json["rows"][1][0] == "b");
}

TEST_CASE("--format names json and metrics; an unknown one lists them all") {
  CHECK(parse_formats("json,metrics") == std::set<std::string>{"json", "metrics"});
  CHECK_THROWS_WITH(parse_formats("xlsx"), Catch::Contains("md,tex,csv,json,metrics"));
}
