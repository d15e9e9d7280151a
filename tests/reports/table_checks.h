// Helpers of the report table tests: mean and sample std computed by hand (the independent
// reference the tables are checked against) and lookups of a table's CSV view by column name
// and first cell.
#pragma once
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "attnlab/reports/table.h"

namespace attnlab::reports::testing {

inline double avg(const std::vector<double>& xs) {
  double s = 0;
  for (double x : xs) s += x;
  return s / xs.size();
}

inline double sd(const std::vector<double>& xs) {
  const double m = avg(xs);
  double s = 0;
  for (double x : xs) s += (x - m) * (x - m);
  return std::sqrt(s / (xs.size() - 1));
}

inline size_t column(const Table& t, const std::string& name) {
  for (size_t i = 0; i < t.data_header.size(); ++i) {
    if (t.data_header[i] == name) return i;
  }
  FAIL("no column " << name);
  return 0;
}

inline const std::vector<std::string>& data_row(const Table& t, const std::string& first) {
  for (const auto& row : t.data_rows) {
    if (row.at(0) == first) return row;
  }
  FAIL("no row " << first);
  throw;
}

inline double number(const Table& t, const std::string& row, const std::string& col) {
  return std::stod(data_row(t, row).at(column(t, col)));
}

}  // namespace attnlab::reports::testing
