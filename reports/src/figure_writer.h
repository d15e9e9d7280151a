// Writes one figure's .dat and .gp and runs gnuplot on it, recording it in a FiguresResult
// (internal; shared by figures.cpp and eval_figures.cpp), plus the text helpers of the scripts.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "attnlab/reports/figures.h"

namespace attnlab::reports {

std::string num(double v);                     // "%.8g"
std::string escaped(const std::string& text);  // for inside a gnuplot double-quoted string
std::string quoted(const std::string& text);   // "\"text\"", escaped
std::string gnuplot_array(const std::vector<std::string>& names);  // "\"a\", \"b\""
// A file stem for an arm name: letters, digits, '_', '-' and '.' kept, '=' as '-', others '_'.
std::string file_stem(const std::string& name);

class FigureWriter {
 public:
  FigureWriter(const std::filesystem::path& dir, const FigureOptions& options,
               FiguresResult& result);

  // Writes <id>.dat and <id>.gp and, with gnuplot found, draws <id>.png and <id>.pdf.
  // `section`: where report.md shows it (Figure::section).
  void add(const std::string& id, const std::string& caption, const std::string& dat,
           const std::string& script, const std::string& section = "");

 private:
  std::filesystem::path dir_;
  FiguresResult& result_;
  std::filesystem::path gnuplot_;
};

}  // namespace attnlab::reports
