// SchemaRegistry: validates a composed config against the sections components declare.
// Order: unknown keys first (a typo is reported as a typo, not as a missing key), then every
// declared key's type, range and choices, filling defaults; dynamic sections last, resolved
// from the config as it then stands (attention.options from attention.variant).
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "attnlab/config/schema.h"
#include "attnlab/config/yaml_writer.h"
#include "config_tree.h"
#include "suggest.h"

namespace attnlab::config {

const char* to_string(ValueType type) {
  switch (type) {
    case ValueType::Int:
      return "int";
    case ValueType::Float:
      return "float";
    case ValueType::Bool:
      return "bool";
    case ValueType::String:
      return "string";
    case ValueType::List:
      return "list";
    case ValueType::Map:
      return "map";
  }
  return "?";
}

namespace {

std::string full_key(const SectionSchema& section, const KeySchema& key) {
  return join_dotted(section.path, key.key);
}

bool is_at_or_below(const std::string& key, const std::string& base) {
  return base.empty() || key == base || key.rfind(base + ".", 0) == 0;
}

std::string number_text(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return to_flow_yaml(std::floor(x) == x && std::fabs(x) < 1e15 ? json(static_cast<long long>(x))
                                                                : json(x));
}

std::string describe(const json& v) { return to_flow_yaml(v) + " (" + v.type_name() + ")"; }

// What the sections declare, for the unknown-key walk.
class KeyIndex {
 public:
  void add(const SectionSchema& section) {
    add_prefixes(section.path);
    if (section.open) open_.insert(section.path);
    for (const auto& key : section.keys) {
      const std::string full = full_key(section, key);
      declared_[full] = key.type;
      add_prefixes(parent_of(full));
    }
  }
  void add_opaque(const std::string& path) {  // a dynamic section checked later
    add_prefixes(parent_of(path));
    opaque_.insert(path);
  }

  // Throws at the first key under `path` that no section declares.
  void check(const ResolvedConfig& config, const json& node, const std::string& path) const {
    for (const auto& item : node.items()) {
      const std::string key = join_dotted(path, item.key());
      if (auto it = declared_.find(key); it != declared_.end()) continue;
      if (opaque_.count(key) || in_open_section(key)) continue;
      if (prefixes_.count(key)) {
        if (!item.value().is_object()) {
          throw ConfigError(key, config.origin_of(key),
                            "must be a map (it holds keys such as " + children_of(key).front() +
                                "), got " + describe(item.value()));
        }
        check(config, item.value(), key);
        continue;
      }
      std::vector<std::string> names;
      for (const auto& c : children_of(path))
        names.push_back(c.substr(path.empty() ? 0 : path.size() + 1));
      const std::string close = closest_match(item.key(), names);
      throw ConfigError(
          key, config.origin_of(key),
          "unknown key" +
              (close.empty() ? "" : "; did you mean '" + join_dotted(path, close) + "'?") +
              (names.empty() ? (path.empty() ? "" : " (" + path + " accepts no keys)")
                             : " (known keys" + std::string(path.empty() ? "" : " in " + path) +
                                   ": " + join_list(names) + ")"));
    }
  }

 private:
  void add_prefixes(std::string path) {
    while (!path.empty()) {
      prefixes_.insert(path);
      path = parent_of(path);
    }
  }
  bool in_open_section(const std::string& key) const {
    for (const auto& path : open_) {
      if (is_at_or_below(key, path) && key != path) return true;
    }
    return false;
  }
  std::vector<std::string> children_of(const std::string& path) const {
    std::set<std::string> out;
    auto consider = [&](const std::string& key) {
      if (!key.empty() && parent_of(key) == path) out.insert(key);
    };
    for (const auto& [key, type] : declared_) consider(key);
    for (const auto& key : prefixes_) consider(key);
    for (const auto& key : opaque_) consider(key);
    return {out.begin(), out.end()};
  }

  std::map<std::string, ValueType> declared_;
  std::set<std::string> prefixes_, open_, opaque_;
};

// Throws at the first number at or below `path` that is infinite or NaN: no key takes one
// (a run would train with it), whatever its declared range.
void reject_non_finite(const ResolvedConfig& config, const json& node, const std::string& path) {
  if (node.is_number_float() && !std::isfinite(node.get<double>())) {
    throw ConfigError(path, config.origin_of(path),
                      "value " + to_flow_yaml(node) +
                          " is not a finite number; config numbers must be finite (`attnlab "
                          "config schema` lists each key's range)");
  }
  if (node.is_object()) {
    for (const auto& item : node.items())
      reject_non_finite(config, item.value(), join_dotted(path, item.key()));
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i)
      reject_non_finite(config, node[i], join_dotted(path, std::to_string(i)));
  }
}

// The range an int key allows: its declared range within 64 bits, e.g. "[1, 9223372036854775807]".
std::string int_range_text(const KeySchema& schema) {
  constexpr auto lo = std::numeric_limits<long long>::min();
  constexpr auto hi = std::numeric_limits<long long>::max();
  const auto bound = [](double x, long long limit) {
    return (limit < 0 ? x <= static_cast<double>(limit) : x >= static_cast<double>(limit))
               ? std::to_string(limit)
               : number_text(x);
  };
  return "[" + bound(schema.min, lo) + ", " + bound(schema.max, hi) + "]";
}

// An int key given a float: a whole one within 64 bits becomes that int.
void float_to_int(const KeySchema& schema, json& v, const std::string& key, const Origin& origin) {
  const double d = v.get<double>();
  if (std::floor(d) != d) {
    throw ConfigError(key, origin, "expected int, got " + describe(v));
  }
  if (d >= 0x1p63 || d < -0x1p63) {  // 2^63: past the largest int64
    throw ConfigError(key, origin,
                      "value " + to_flow_yaml(v) + " is too " + (d > 0 ? "large" : "small") +
                          " for an int (64 bits); allowed range: " + int_range_text(schema));
  }
  v = static_cast<long long>(d);
}

// Checks (and converts) one value against its key schema.
void check_value(const KeySchema& schema, json& v, const std::string& key, const Origin& origin) {
  auto wrong_type = [&]() {
    return ConfigError(key, origin,
                       "expected " + std::string(to_string(schema.type)) + ", got " + describe(v));
  };
  switch (schema.type) {
    case ValueType::Int:
      if (v.is_number_float()) float_to_int(schema, v, key, origin);
      if (!v.is_number_integer()) throw wrong_type();
      break;
    case ValueType::Float:
      if (!v.is_number()) throw wrong_type();
      v = v.get<double>();
      break;
    case ValueType::Bool:
      if (!v.is_boolean()) throw wrong_type();
      break;
    case ValueType::String:
      if (!v.is_string()) throw wrong_type();
      if (!schema.choices.empty() && std::find(schema.choices.begin(), schema.choices.end(),
                                               v.get<std::string>()) == schema.choices.end()) {
        throw ConfigError(key, origin,
                          "'" + v.get<std::string>() +
                              "' is not one of: " + join_list(schema.choices) +
                              did_you_mean(v.get<std::string>(), schema.choices));
      }
      break;
    case ValueType::List:
      if (!v.is_array()) throw wrong_type();
      break;
    case ValueType::Map:
      if (!v.is_object()) throw wrong_type();
      break;
  }
  if (v.is_number()) {
    const double x = v.get<double>();
    if (x < schema.min || x > schema.max || std::isnan(x)) {
      std::string range;
      if (std::isinf(schema.max)) {
        range = "must be >= " + number_text(schema.min);
      } else if (std::isinf(schema.min)) {
        range = "must be <= " + number_text(schema.max);
      } else {
        range = "must be in [" + number_text(schema.min) + ", " + number_text(schema.max) + "]";
      }
      throw ConfigError(key, origin, "value " + to_flow_yaml(v) + " is out of range: " + range);
    }
  }
}

// Checks the declared keys of `section`, filling defaults.
void check_section(const SectionSchema& section, ResolvedConfig& config) {
  for (const auto& schema : section.keys) {
    const std::string key = full_key(section, schema);
    const auto path = split_dotted(key);
    json* parent = &config.tree;
    std::string walked;
    for (size_t i = 0; i + 1 < path.size();
         ++i) {  // parents are maps (the unknown-key walk saw to it)
      walked = join_dotted(walked, path[i]);
      if (!parent->contains(path[i])) {
        (*parent)[path[i]] = json::object();
        config.origins[walked] = Origin{kDefaultFile, 0, 0, section.owner};
      }
      parent = &(*parent)[path[i]];
      if (!parent->is_object()) {
        throw ConfigError(walked, config.origin_of(walked),
                          "must be a map, got " + describe(*parent));
      }
    }
    auto it = parent->find(path.back());
    if (it == parent->end()) {
      if (schema.default_value.is_null()) {
        throw ConfigError(key, config.origin_of(key),
                          "missing required key (" + std::string(to_string(schema.type)) +
                              (schema.description.empty() ? "" : ": " + schema.description) +
                              "); set it in the config or with +" + key + "=VALUE");
      }
      (*parent)[path.back()] = schema.default_value;
      config.origins[key] = Origin{kDefaultFile, 0, 0, section.owner};
      it = parent->find(path.back());
    }
    check_value(schema, *it, key, config.origin_of(key));
  }
}

// Checks the section at `section.path` of `config` on its own: a map there (if present), no
// undeclared keys below it unless the section is open, then its declared keys.
void check_section_at_path(const SectionSchema& section, ResolvedConfig& config) {
  KeyIndex index;
  index.add(section);
  if (const json* node = find_path(config.tree, split_dotted(section.path)); node) {
    if (!node->is_object()) {
      throw ConfigError(section.path, config.origin_of(section.path),
                        "must be a map, got " + describe(*node));
    }
    if (!section.open) index.check(config, *node, section.path);
  }
  check_section(section, config);
}

}  // namespace

json validate_section(const SectionSchema& section, const json& values) {
  const auto path = split_dotted(section.path);
  ResolvedConfig config;
  config.tree = json::object();
  if (!values.is_null()) {
    json* node = &config.tree;
    for (const auto& part : path) node = &(*node)[part];
    *node = values;
  }
  reject_non_finite(config, config.tree, "");
  check_section_at_path(section, config);
  const json* out = find_path(config.tree, path);
  return out ? *out : json::object();
}

void SchemaRegistry::add(SectionSchema section) { static_.push_back(std::move(section)); }

void SchemaRegistry::add_dynamic(std::string path,
                                 std::function<SectionSchema(const ResolvedConfig&)> make) {
  dynamic_.emplace_back(std::move(path), std::move(make));
}

void SchemaRegistry::validate(ResolvedConfig& config) const {
  if (!config.tree.is_object()) {
    throw ConfigError("", origin_in(config.source_file.string()), "the config must be a map");
  }
  KeyIndex index;
  for (const auto& section : static_) index.add(section);
  for (const auto& [path, make] : dynamic_) index.add_opaque(path);
  index.check(config, config.tree, "");
  reject_non_finite(config, config.tree, "");
  for (const auto& section : static_) check_section(section, config);

  for (const auto& [path, make] : dynamic_) {
    SectionSchema section = make(config);
    section.path = path;
    check_section_at_path(section, config);
  }
}

std::vector<SectionSchema> SchemaRegistry::sections(const ResolvedConfig* config) const {
  std::vector<SectionSchema> out = static_;
  if (!config) return out;
  for (const auto& [path, make] : dynamic_) {
    out.push_back(make(*config));
    out.back().path = path;
  }
  return out;
}

bool SchemaRegistry::declares(const std::string& dotted_key, const ResolvedConfig& config) const {
  auto in = [&](const SectionSchema& section) {
    for (const auto& key : section.keys) {
      if (full_key(section, key) == dotted_key) return true;
    }
    return false;
  };
  for (const auto& section : static_) {
    if (in(section)) return true;
  }
  for (const auto& [path, make] : dynamic_) {
    if (!is_at_or_below(dotted_key, path)) continue;
    try {
      SectionSchema section = make(config);
      section.path = path;
      if (in(section)) return true;
    } catch (const ConfigError&) {
      // a section that cannot be resolved yet declares nothing
    }
  }
  return false;
}

}  // namespace attnlab::config
