// Fills the embedded gnuplot templates (see gnuplot_templates.h).
#include "gnuplot_templates.h"

#include <stdexcept>

namespace attnlab::reports {

std::string fill_template(const std::string& name,
                          const std::map<std::string, std::string>& values) {
  auto it = gnuplot_templates().find(name);
  if (it == gnuplot_templates().end()) {
    throw std::logic_error("no gnuplot template '" + name + "' in reports/templates/");
  }
  std::string text = it->second;
  for (const auto& [key, value] : values) {
    const std::string placeholder = "{{" + key + "}}";
    for (size_t pos = text.find(placeholder); pos != std::string::npos;
         pos = text.find(placeholder, pos + value.size())) {
      text.replace(pos, placeholder.size(), value);
    }
  }
  if (auto pos = text.find("{{"); pos != std::string::npos) {
    throw std::logic_error("gnuplot template '" + name + "': placeholder " +
                           text.substr(pos, text.find("}}", pos) + 2 - pos) + " not filled");
  }
  return text;
}

}  // namespace attnlab::reports
