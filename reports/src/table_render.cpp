// Markdown, LaTeX (booktabs) and CSV renderings of a report Table.
#include <cctype>
#include <sstream>
#include <utility>

#include "attnlab/reports/table.h"

namespace attnlab::reports {

namespace {

std::string markdown_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string latex_escape(const std::string& text) {
  static const std::pair<const char*, const char*> kMap[] = {{"\\", "\\textbackslash{}"},
                                                             {"&", "\\&"},
                                                             {"%", "\\%"},
                                                             {"$", "\\$"},
                                                             {"#", "\\#"},
                                                             {"_", "\\_"},
                                                             {"{", "\\{"},
                                                             {"}", "\\}"},
                                                             {"~", "\\textasciitilde{}"},
                                                             {"^", "\\textasciicircum{}"},
                                                             {"±", "$\\pm$"},
                                                             {"Δ", "$\\Delta$"},
                                                             {"×", "$\\times$"},
                                                             {"≥", "$\\geq$"},
                                                             {"≤", "$\\leq$"},
                                                             {"−", "$-$"},
                                                             {"–", "--"},
                                                             {"—", "---"}};
  std::string out;
  for (size_t i = 0; i < text.size();) {
    bool mapped = false;
    for (const auto& [from, to] : kMap) {
      const size_t n = std::char_traits<char>::length(from);
      if (text.compare(i, n, from) == 0) {
        out += to;
        i += n;
        mapped = true;
        break;
      }
    }
    if (!mapped) out += text[i++];
  }
  return out;
}

std::string to_markdown(const Table& table) {
  std::ostringstream out;
  out << "|";
  for (const auto& h : table.header) out << " " << markdown_escape(h) << " |";
  out << "\n|";
  for (size_t i = 0; i < table.header.size(); ++i) out << (i == 0 ? " :--- |" : " ---: |");
  out << "\n";
  for (const auto& row : table.rows) {
    out << "|";
    for (const auto& cell : row) {
      const std::string text = markdown_escape(cell.text);
      out << " " << (cell.bold && !text.empty() ? "**" + text + "**" : text) << " |";
    }
    out << "\n";
  }
  for (const auto& note : table.notes) out << "\n" << note << "\n";
  return out.str();
}

std::string to_latex(const Table& table) {
  std::ostringstream out;
  out << "\\begin{table}[t]\n\\centering\n\\caption{" << latex_escape(table.title);
  if (!table.title.empty() && !std::ispunct(static_cast<unsigned char>(table.title.back()))) {
    out << ".";
  }
  for (const auto& note : table.notes) out << " " << latex_escape(note);
  // Scaled down to the line width only when wider (graphicx's \\resizebox with \\width).
  out << "}\n\\label{tab:" << table.id
      << "}\n\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n"
      << "\\begin{tabular}{l";
  for (size_t i = 1; i < table.header.size(); ++i) out << "r";
  out << "}\n\\toprule\n";
  for (size_t i = 0; i < table.header.size(); ++i) {
    out << (i ? " & " : "") << latex_escape(table.header[i]);
  }
  out << " \\\\\n\\midrule\n";
  for (const auto& row : table.rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string text = latex_escape(row[i].text);
      out << (i ? " & " : "") << (row[i].bold ? "\\textbf{" + text + "}" : text);
    }
    out << " \\\\\n";
  }
  out << "\\bottomrule\n\\end{tabular}}\n\\end{table}\n";
  return out.str();
}

std::string to_csv(const Table& table) {
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << csv_field(fields[i]);
    out << "\n";
  };
  line(table.data_header);
  for (const auto& row : table.data_rows) line(row);
  return out.str();
}

}  // namespace attnlab::reports
