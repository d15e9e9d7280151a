// Parsing of override strings: prefix, dotted key, value or sweep.
#include "override_parser.h"

#include <cmath>
#include <regex>
#include <stdexcept>

#include "attnlab/config/yaml_writer.h"
#include "scalar.h"
#include "yaml_loader.h"

namespace attnlab::config {

namespace {

using json = nlohmann::json;
constexpr size_t kMaxSweepValues = 100000;

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// Splits at commas outside quotes and brackets. Inside "..." a backslash escapes the next
// character, as in YAML and JSON ("a\"b" is one string), so to_flow_yaml's output splits right.
std::vector<std::string> split_top_level(const std::string& text) {
  std::vector<std::string> parts;
  std::string current, closers;
  char quote = 0;
  bool escaped = false;  // the previous character was a backslash inside "..."
  for (char c : text) {
    if (escaped) {
      escaped = false;
    } else if (quote) {
      if (c == quote) quote = 0;
      escaped = quote == '"' && c == '\\';
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      closers.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (closers.empty() || closers.back() != c) {
        throw std::invalid_argument(std::string("unbalanced '") + c + "'");
      }
      closers.pop_back();
    } else if (c == ',' && closers.empty()) {
      parts.push_back(current);
      current.clear();
      continue;
    }
    current.push_back(c);
  }
  if (quote) throw std::invalid_argument(std::string("unterminated ") + quote + " quote");
  if (!closers.empty())
    throw std::invalid_argument(std::string("missing '") + closers.back() + "'");
  parts.push_back(current);
  return parts;
}

// The value of one element as written (flow collections check their own strings).
json element_value(const std::string& text) {
  if (text.empty()) return std::string();
  const char first = text.front();
  if (first == '\'') {
    if (text.size() < 2 || text.back() != '\'') {
      throw std::invalid_argument("text after the closing quote in " + text +
                                  "; quote the whole value");
    }
    return text.substr(1, text.size() - 2);
  }
  if (first == '"') {
    json parsed = json::parse(text, nullptr, false);
    if (!parsed.is_string()) {
      throw std::invalid_argument("bad double-quoted string " + text + "; quote the whole value");
    }
    return parsed;
  }
  if (first == '[' || first == '{') return parse_flow_value(text);
  return resolve_plain_scalar(text);
}

OverrideValue parse_element(const std::string& raw) {
  const std::string text = trim(raw);
  json value = element_value(text);
  if (value.is_string()) check_string_chars(value.get_ref<const std::string&>(), false);
  return {std::move(value), text};
}

json number_of(const std::string& text, const std::string& call) {
  json v = resolve_plain_scalar(trim(text));
  if (!v.is_number() || (v.is_number_float() && !std::isfinite(v.get<double>()))) {
    throw std::invalid_argument(call + ": '" + trim(text) + "' is not a number");
  }
  return v;
}

std::vector<OverrideValue> range_values(const std::string& args, const std::string& call) {
  const auto parts = split_top_level(args);
  if (parts.size() > 3) {
    throw std::invalid_argument(
        call + ": expected range(stop), range(start,stop) or range(start,stop,step)");
  }
  const bool stop_only = parts.size() == 1;  // range(stop) counts from 0, as in Python
  const json start = stop_only ? json(0) : number_of(parts[0], call);
  const json stop = number_of(parts[stop_only ? 0 : 1], call);
  const json step = parts.size() == 3 ? number_of(parts[2], call) : json(1);
  const bool integral =
      start.is_number_integer() && stop.is_number_integer() && step.is_number_integer();
  const double a = start.get<double>(), b = stop.get<double>(), s = step.get<double>();
  if (s == 0) throw std::invalid_argument(call + ": step must not be 0");
  const std::string too_many = call + ": more than " + std::to_string(kMaxSweepValues) +
                               " values; use a coarser step or a shorter range";
  if ((b - a) / s > static_cast<double>(kMaxSweepValues)) throw std::invalid_argument(too_many);
  std::vector<OverrideValue> values;
  for (size_t i = 0;; ++i) {
    const double x = a + static_cast<double>(i) * s;
    if (s > 0 ? x >= b : x <= b) break;
    if (values.size() == kMaxSweepValues) throw std::invalid_argument(too_many);  // rounding
    json v = integral
                 ? json(start.get<long long>() + static_cast<long long>(i) * step.get<long long>())
                 : json(x);
    values.push_back({v, to_flow_yaml(v)});
  }
  if (values.empty()) throw std::invalid_argument(call + " is empty; check start, stop and step");
  return values;
}

}  // namespace

std::vector<OverrideValue> parse_override_values(const std::string& raw, bool& sweep) {
  const std::string text = trim(raw);
  static const std::regex call_re("([A-Za-z_][A-Za-z0-9_]*)\\((.*)\\)");
  std::smatch m;
  sweep = false;
  if (std::regex_match(text, m, call_re)) {
    const std::string name = m[1], args = m[2];
    sweep = true;
    if (name == "range") return range_values(args, text);
    if (name != "choice") {
      throw std::invalid_argument(
          "unknown sweep function '" + name +
          "'; use range(start,stop[,step]) or choice(a,b,...), or quote the value");
    }
    std::vector<OverrideValue> values;
    for (const auto& part : split_top_level(args)) {
      if (trim(part).empty()) throw std::invalid_argument("empty value in " + text);
      values.push_back(parse_element(part));
    }
    return values;
  }
  const auto parts = split_top_level(text);
  if (parts.size() == 1) return {parse_element(parts[0])};
  sweep = true;
  std::vector<OverrideValue> values;
  for (const auto& part : parts) {
    if (trim(part).empty()) {
      throw std::invalid_argument("empty value in sweep '" + text + "'; remove the extra comma");
    }
    values.push_back(parse_element(part));
  }
  return values;
}

Override parse_override(const std::string& text, const Origin& origin) {
  Override out;
  out.origin = origin;
  try {
    check_utf8(text, "override");
  } catch (const std::invalid_argument& e) {
    throw ConfigError("", origin, std::string(e.what()) + " (is the terminal's encoding UTF-8?)");
  }
  size_t pos = 0;
  if (text.rfind("++", 0) == 0) {
    out.kind = OverrideKind::AddOrReplace;
    pos = 2;
  } else if (text.rfind("+", 0) == 0) {
    out.kind = OverrideKind::Add;
    pos = 1;
  } else if (text.rfind("~", 0) == 0) {
    out.kind = OverrideKind::Delete;
    pos = 1;
  }
  const size_t eq = text.find('=', pos);
  out.key = trim(text.substr(pos, eq == std::string::npos ? std::string::npos : eq - pos));
  static const std::regex key_re("[A-Za-z0-9_\\-]+([./][A-Za-z0-9_\\-]+)*");
  if (eq == std::string::npos && out.kind != OverrideKind::Delete) {
    throw ConfigError("", origin,
                      "missing '=': expected key=value, +key=value, ++key=value or ~key");
  }
  if (!std::regex_match(out.key, key_re)) {
    throw ConfigError("", origin,
                      "bad key '" + out.key +
                          "': expected dotted names such as train.lr (letters, digits, _ and -)");
  }
  if (eq == std::string::npos) return out;  // ~key
  try {
    out.values = parse_override_values(text.substr(eq + 1), out.sweep);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(out.key, origin, std::string("bad value: ") + e.what());
  }
  if (out.sweep && out.kind == OverrideKind::Delete) {
    throw ConfigError(out.key, origin, "cannot sweep a deletion; write ~" + out.key + " alone");
  }
  return out;
}

std::string override_text(OverrideKind kind, const std::string& key, const OverrideValue* value) {
  static const char* const prefixes[] = {"", "+", "++", "~"};
  std::string s = prefixes[static_cast<int>(kind)] + key;
  if (value) s += "=" + value->text;
  return s;
}

}  // namespace attnlab::config
