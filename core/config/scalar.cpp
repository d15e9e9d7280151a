// YAML 1.2 core-schema scalar typing (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
#include "scalar.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>

namespace attnlab::config {

nlohmann::json resolve_plain_scalar(const std::string& text) {
  static const std::regex null_re("~|null|Null|NULL");
  static const std::regex bool_true_re("true|True|TRUE");
  static const std::regex bool_false_re("false|False|FALSE");
  static const std::regex int_re("[-+]?[0-9]+");
  static const std::regex hex_re("0x[0-9a-fA-F]+");
  static const std::regex oct_re("0o[0-7]+");
  static const std::regex float_re("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex inf_re("([-+]?)\\.(inf|Inf|INF)");
  static const std::regex nan_re("\\.(nan|NaN|NAN)");

  if (text.empty() || std::regex_match(text, null_re)) return nullptr;
  if (std::regex_match(text, bool_true_re)) return true;
  if (std::regex_match(text, bool_false_re)) return false;
  if (std::regex_match(text, int_re) || std::regex_match(text, hex_re) ||
      std::regex_match(text, oct_re)) {
    const bool octal = text.size() > 1 && text[1] == 'o';
    const std::string digits = octal ? text.substr(2) : text;
    errno = 0;
    long long value = std::strtoll(digits.c_str(), nullptr, octal ? 8 : (text[1] == 'x' ? 16 : 10));
    if (errno != ERANGE) return value;
    return std::strtod(text.c_str(), nullptr);  // too big for int64: keep it as a float
  }
  if (std::regex_match(text, float_re)) return std::strtod(text.c_str(), nullptr);
  std::smatch m;
  if (std::regex_match(text, m, inf_re)) {
    return m[1] == "-" ? -std::numeric_limits<double>::infinity()
                       : std::numeric_limits<double>::infinity();
  }
  if (std::regex_match(text, nan_re)) return std::numeric_limits<double>::quiet_NaN();
  return text;
}

}  // namespace attnlab::config
