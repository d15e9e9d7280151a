// The gnuplot script templates of reports/templates/, embedded at build time (internal).
// Placeholders are {{NAME}}; fill_template replaces them.
#pragma once
#include <map>
#include <string>

namespace attnlab::reports {

// Template name (file stem: "curves", "bar", "bench", "heatmap") -> script text.
const std::map<std::string, std::string>& gnuplot_templates();

// The template `name` with every {{KEY}} replaced; an unknown template or a placeholder left
// unfilled throws (a bug in the caller, reported with the template's name).
std::string fill_template(const std::string& name,
                          const std::map<std::string, std::string>& values);

}  // namespace attnlab::reports
