// YAML 1.2 core-schema scalar typing (https://yaml.org/spec/1.2.2/#1032-tag-resolution) and
// the control-character check.
#include "scalar.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <regex>
#include <stdexcept>

namespace attnlab::config {

namespace {

double parse_float(const std::string& text) {
  const double value = std::strtod(text.c_str(), nullptr);
  if (std::isinf(value)) {
    throw std::invalid_argument(text + " is beyond the float range (largest magnitude " +
                                "about 1.8e308); give a smaller number");
  }
  return value;
}

}  // namespace

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
    return parse_float(text);  // too big for int64: keep it as a float
  }
  if (std::regex_match(text, float_re)) return parse_float(text);
  std::smatch m;
  if (std::regex_match(text, m, inf_re)) {
    return m[1] == "-" ? -std::numeric_limits<double>::infinity()
                       : std::numeric_limits<double>::infinity();
  }
  if (std::regex_match(text, nan_re)) return std::numeric_limits<double>::quiet_NaN();
  return text;
}

size_t utf8_length(const std::string& text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  const size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
  if (n == 0 || i + n > text.size()) return 0;
  // The second byte's range rules out overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4).
  const auto second = static_cast<unsigned char>(text[i + 1]);
  if (second < (c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80) ||
      second > (c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF)) {
    return 0;
  }
  for (size_t k = 2; k < n; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return 0;
  }
  return n;
}

size_t first_non_utf8(const std::string& text) {
  for (size_t i = 0, n = 0; i < text.size(); i += n) {
    n = utf8_length(text, i);
    if (n == 0) return i;
  }
  return std::string::npos;
}

namespace {

std::string escaped(const char* format, unsigned value) {
  char out[16];
  std::snprintf(out, sizeof out, format, value);
  return out;
}

// The character of `n` bytes at text[i] as an escape ("\x07", "\u0085") if it is a control
// character (tab and newline too unless allowed), else "".
std::string control_escape(const std::string& text, size_t i, size_t n, bool allow_tab_newline) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (n == 1 && (c < 0x20 || c == 0x7F)) {
    return allow_tab_newline && (c == '\t' || c == '\n') ? "" : escaped("\\x%02x", c);
  }
  const auto next = n == 2 ? static_cast<unsigned char>(text[i + 1]) : 0;
  return c == 0xC2 && next <= 0x9F ? escaped("\\u%04x", next) : "";  // C1: U+0080-U+009F
}

}  // namespace

void check_utf8(const std::string& text, const std::string& what) {
  const size_t i = first_non_utf8(text);
  if (i == std::string::npos) return;
  throw std::invalid_argument("byte " + escaped("\\x%02x", static_cast<unsigned char>(text[i])) +
                              " at byte " + std::to_string(i) + " of the " + what +
                              " is not UTF-8; write the character itself, in UTF-8");
}

void check_string_chars(const std::string& text, bool is_key) {
  const std::string what = is_key ? "key" : "value";
  check_utf8(text, what);
  for (size_t i = 0, n = 0; i < text.size(); i += n) {
    n = utf8_length(text, i);
    const std::string escape = control_escape(text, i, n, !is_key);
    if (escape.empty()) continue;
    throw std::invalid_argument(
        "control character " + escape + " at byte " + std::to_string(i) + " of the " + what +
        "; remove it (" +
        (is_key ? "keys hold no control characters" : "strings may hold tab and newline only") +
        ")");
  }
}

std::string escape_control_chars(const std::string& text) {
  std::string out;
  for (size_t i = 0, n = 0; i < text.size(); i += n) {
    n = utf8_length(text, i);
    if (n == 0) {
      out += escaped("\\x%02x", static_cast<unsigned char>(text[i]));
      n = 1;
      continue;
    }
    const std::string escape = control_escape(text, i, n, false);
    out += escape.empty() ? text.substr(i, n) : escape;
  }
  return out;
}

}  // namespace attnlab::config
