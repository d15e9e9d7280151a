// A report table and its three renderings: Markdown (report.md), LaTeX booktabs (an
// `\input`-able table environment; needs \usepackage{booktabs}) and CSV. A table has a display
// view (formatted cells, some bold) and a data view (raw numbers for the CSV).
#pragma once
#include <string>
#include <vector>

namespace attnlab::reports {

// Display text is plain UTF-8; the LaTeX renderer escapes it and maps the symbols the
// builders use (± Δ × ≥ ≤ −) to math mode.
struct Cell {
  std::string text;
  bool bold = false;  // the best value of its column
};

struct Table {
  std::string id;     // file stem and LaTeX label: "main" -> tables/main.csv, tab:main
  std::string title;  // heading in report.md, caption in LaTeX
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
  std::vector<std::string> notes;  // printed under the table (Markdown) / in the caption end

  // The CSV view: raw values, one row per display row; "" for missing.
  std::vector<std::string> data_header;
  std::vector<std::vector<std::string>> data_rows;
  // Data columns that are names, never numbers, even when every value looks like one (a run
  // named "7", a code version "1234567"): the JSON view keeps them as strings.
  std::vector<std::string> data_text_columns;
};

std::string to_markdown(const Table& table);  // "| a | b |" pipe table plus notes
std::string to_latex(const Table& table);     // \begin{table}...\end{table}
std::string to_csv(const Table& table);       // RFC 4180 quoting, data view

std::string latex_escape(const std::string& text);
std::string csv_field(const std::string& text);  // quoted when it holds , " or a line break

}  // namespace attnlab::reports
