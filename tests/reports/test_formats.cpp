// Cell formats of the report tables: CSV fields quoted per RFC 4180 (only when they must be),
// p-values at three decimals, "<0.001" below 0.001, and byte sizes from B to GiB.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <regex>
#include <string>

#include "attnlab/reports/table.h"
#include "cells.h"
#include "fresh_rng.h"

using namespace attnlab::reports;
using namespace attnlab::reports::testing;

namespace {

// A one-row CSV table with the given fields (header "a", "b", ...).
std::string csv_row(const std::vector<std::string>& fields) {
  Table t;
  for (size_t i = 0; i < fields.size(); ++i) t.data_header.push_back(std::string(1, 'a' + i));
  t.data_rows = {fields};
  return to_csv(t);
}

}  // namespace

TEST_CASE("CSV: a field with a comma, a double quote or a line break is quoted, quotes doubled") {
  FreshRng fresh;
  INFO("rng seed " << fresh.seed);
  auto& rng = fresh.engine;
  const std::string word = "arm" + std::to_string(rng() % 100000);
  for (const std::string special : {",", "\"", "\n", "\r\n"}) {
    INFO("special " << special);
    CHECK(csv_row({word, word + special}) ==
          "a,b\n" + word + ",\"" + word + (special == "\"" ? "\"\"" : special) + "\"\n");
  }
  const std::string all = word + ", said \"hi\"\nthen";
  CHECK(csv_row({all, word}) == "a,b\n\"" + word + ", said \"\"hi\"\"\nthen\"," + word + "\n");
  CHECK(csv_row({"", word + " x;y"}) == "a,b\n," + word + " x;y\n");  // plain: as it is
}

TEST_CASE("p-values: three decimals, \"<0.001\" strictly below 0.001") {
  using cells::p_value;
  CHECK(p_value(0.0009999) == "<0.001");
  CHECK(p_value(0.0) == "<0.001");
  CHECK(p_value(std::nextafter(0.001, 0.0)) == "<0.001");
  CHECK(p_value(0.001) == "0.001");
  CHECK(p_value(0.0014) == "0.001");
  CHECK(p_value(0.0496) == "0.050");
  CHECK(p_value(1.0) == "1.000");
  // NaN is no p-value: neither "significant" nor a number in [0, 1].
  const std::string nan_text = p_value(std::numeric_limits<double>::quiet_NaN());
  CHECK(nan_text != "<0.001");
  CHECK_FALSE(std::regex_match(nan_text, std::regex("[01]\\.[0-9]{3}")));

  FreshRng fresh;
  INFO("rng seed " << fresh.seed);
  auto& rng = fresh.engine;
  std::uniform_real_distribution<double> unit(0.001, 1.0);
  for (int i = 0; i < 100; ++i) {
    const double p = unit(rng);
    const std::string text = p_value(p);
    INFO(p << " -> " << text);
    REQUIRE(std::regex_match(text, std::regex("[01]\\.[0-9]{3}")));
    CHECK(std::fabs(std::stod(text) - p) <= 0.0005 + 1e-12);
  }
}

TEST_CASE("byte sizes: B below 1 KiB, then KiB, MiB and GiB") {
  FreshRng fresh;
  INFO("seed " << fresh.seed);
  std::uniform_int_distribution<int> small(0, 1023);
  const int b = small(fresh.engine);
  CHECK(cells::bytes(b) == std::to_string(b) + " B");
  CHECK(cells::bytes(1024.0 * 3 + 512) == "3.5 KiB");
  CHECK(cells::bytes(1024.0 * 1024 * 7.3) == "7.3 MiB");
  CHECK(cells::bytes(1024.0 * 1024 * 1024 * 1.5) == "1.50 GiB");
}
