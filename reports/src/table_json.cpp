// A report Table as JSON (table_json.h): display text, bold cells, typed data view.
#include "attnlab/reports/table_json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace attnlab::reports {

namespace {

// The number a whole data cell spells in decimal ("1.5", "-3e-4", "nan", "inf"), nullopt
// otherwise (hex and leading spaces included).
std::optional<double> parse_number(const std::string& text) {
  const bool decimal = text.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (text.empty() || !(decimal || text == "nan" || text == "inf" || text == "-inf")) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);  // out of range: ±inf or 0, still a number
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

bool numeric_column(const Table& table, size_t column) {
  const auto& names = table.data_text_columns;
  if (column < table.data_header.size() &&
      std::count(names.begin(), names.end(), table.data_header[column])) {
    return false;
  }
  for (const auto& row : table.data_rows) {
    if (column < row.size() && !row[column].empty() && !parse_number(row[column])) return false;
  }
  return true;
}

// A data cell: null when empty, a number in a numeric column (non-finite ones become null,
// as JSON has no NaN), else the text.
nlohmann::json data_value(const std::string& text, bool numeric) {
  if (text.empty()) return nullptr;
  if (numeric) {
    const double value = *parse_number(text);
    return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
  }
  return text;
}

nlohmann::json data_json(const Table& table) {
  size_t width = table.data_header.size();
  for (const auto& row : table.data_rows) width = std::max(width, row.size());
  std::vector<bool> numeric(width);
  for (size_t c = 0; c < width; ++c) numeric[c] = numeric_column(table, c);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : table.data_rows) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t c = 0; c < row.size(); ++c) out.push_back(data_value(row[c], numeric[c]));
    rows.push_back(std::move(out));
  }
  return {{"header", table.data_header}, {"rows", std::move(rows)}};
}

}  // namespace

nlohmann::json to_json(const Table& table) {
  nlohmann::json rows = nlohmann::json::array(), best = nlohmann::json::array();
  for (size_t r = 0; r < table.rows.size(); ++r) {
    nlohmann::json texts = nlohmann::json::array();
    for (size_t c = 0; c < table.rows[r].size(); ++c) {
      texts.push_back(table.rows[r][c].text);
      if (table.rows[r][c].bold) best.push_back({r, c});
    }
    rows.push_back(std::move(texts));
  }
  return {{"id", table.id},     {"title", table.title}, {"header", table.header},
          {"rows", rows},       {"best", best},         {"notes", table.notes},
          {"data", data_json(table)}};
}

}  // namespace attnlab::reports
