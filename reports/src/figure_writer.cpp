// Writes figure files and runs gnuplot on them (see figure_writer.h).
#include "figure_writer.h"

#include <cctype>
#include <cstdio>

#include "gnuplot_runner.h"
#include "write_file.h"

namespace attnlab::reports {

namespace fs = std::filesystem;

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.8g", v);
  return buf;
}

std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string quoted(const std::string& text) { return "\"" + escaped(text) + "\""; }

std::string gnuplot_array(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + quoted(n);
  return out;
}

std::string file_stem(const std::string& name) {
  std::string out;
  for (const char c : name) {
    const bool kept =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    out += kept ? c : c == '=' ? '-' : '_';
  }
  return out;
}

FigureWriter::FigureWriter(const fs::path& dir, const FigureOptions& options, FiguresResult& result)
    : dir_(dir), result_(result) {
  if (auto found = find_program(options.gnuplot)) {
    gnuplot_ = *found;
    result_.gnuplot_found = true;
  }
}

void FigureWriter::add(const std::string& id, const std::string& caption, const std::string& dat,
                       const std::string& script, const std::string& section) {
  write_file(dir_ / (id + ".dat"), dat);
  write_file(dir_ / (id + ".gp"), script);
  Figure figure{id, caption, false, section};
  if (result_.gnuplot_found) {
    std::string problem = run_gnuplot(gnuplot_, dir_, id + ".gp");
    std::error_code ec;
    figure.rendered = problem.empty() && fs::file_size(dir_ / (id + ".png"), ec) > 0 &&
                      fs::file_size(dir_ / (id + ".pdf"), ec) > 0;
    if (!problem.empty()) result_.notes.push_back(problem);
  }
  result_.figures.push_back(figure);
}

}  // namespace attnlab::reports
