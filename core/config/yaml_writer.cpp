// json -> YAML text. Scalars are written plain when they read back as the same value and
// double-quoted (JSON escapes, valid YAML) otherwise.
#include "attnlab/config/yaml_writer.h"

#include <stdexcept>

#include <cmath>

#include "scalar.h"

namespace attnlab::config {

namespace {

using json = nlohmann::json;

bool plain_string_ok(const std::string& s, bool flow) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (std::string("?:,[]{}#&*!|>'\"%@`-").find(s.front()) != std::string::npos &&
      !(s.front() == '-' && s.size() > 1 && s[1] != ' ')) {
    return false;
  }
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    if (flow && std::string(",[]{}()'\"=").find(c) != std::string::npos) return false;
  }
  try {
    return resolve_plain_scalar(s).is_string();
  } catch (const std::invalid_argument&) {  // reads as a number out of range (1e400): quote it
    return false;
  }
}

std::string scalar_text(const json& v, bool flow) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return plain_string_ok(s, flow) ? s : v.dump();
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) return ".nan";
    if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
    std::string s = v.dump();
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
  }
  return v.dump();  // null, bool, integers
}

void write_block(const json& v, int indent, std::string& out);

void write_entry_value(const json& v, int indent, std::string& out) {
  if ((v.is_object() || v.is_array()) && !v.empty()) {
    out += "\n";
    write_block(v, indent + 2, out);
  } else {
    out += " " + (v.is_object() || v.is_array() ? to_flow_yaml(v) : scalar_text(v, false)) + "\n";
  }
}

void write_block(const json& v, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      out += pad + scalar_text(key, false) + ":";
      write_entry_value(value, indent, out);
    }
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if ((item.is_object() || item.is_array()) && !item.empty()) {
        std::string nested;
        write_block(item, indent + 2, nested);
        nested.replace(indent, 2, "- ");  // the item's first line starts after the dash
        out += nested;
      } else {
        out +=
            pad + "- " +
            (item.is_object() || item.is_array() ? to_flow_yaml(item) : scalar_text(item, false)) +
            "\n";
      }
    }
  }
}

}  // namespace

std::string to_flow_yaml(const json& value) {
  if (value.is_object()) {
    std::string out;
    for (const auto& [key, v] : value.items()) {
      out += (out.empty() ? "" : ", ") + scalar_text(key, true) + ": " + to_flow_yaml(v);
    }
    return "{" + out + "}";
  }
  if (value.is_array()) {
    std::string out;
    for (const auto& v : value) out += (out.empty() ? "" : ", ") + to_flow_yaml(v);
    return "[" + out + "]";
  }
  return scalar_text(value, true);
}

std::string to_yaml(const json& tree) {
  if ((!tree.is_object() && !tree.is_array()) || tree.empty()) return to_flow_yaml(tree) + "\n";
  std::string out;
  write_block(tree, 0, out);
  return out;
}

}  // namespace attnlab::config
