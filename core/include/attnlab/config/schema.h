// Schemas of config sections: every key a component accepts, with its type, default, range,
// choices and description. Components own their schemas (model, data, train, the attention
// plugin's options); the registry validates a composed config against all of them and
// feeds `attnlab config schema` and `attnlab plugins list`. validate_section applies the same
// rules to one section alone (the plugin loader checks a plugin's options with it).
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "attnlab/config/config.h"

namespace attnlab::config {

enum class ValueType { Int, Float, Bool, String, List, Map };
const char* to_string(ValueType type);

struct KeySchema {
  std::string key;  // relative to the section, may be dotted for nested maps
  ValueType type = ValueType::String;
  nlohmann::json default_value;  // null: the key is required
  double min = -std::numeric_limits<double>::infinity();  // inclusive, Int/Float only
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // allowed values for String keys; empty = any
  std::string description;
};

struct SectionSchema {
  std::string path;   // dotted section path: "model", "train", "attention.options", "" = root
  std::string owner;  // who declares it, e.g. "model", "plugin gated_window"
  std::vector<KeySchema> keys;
  bool open = false;  // accept keys not listed (free-form maps such as `report`)
};

// Validates one section on its own, by the rules validate() applies to it inside a config:
// `values` must be a map (null counts as empty); unknown keys (with suggestions), types,
// ranges and choices are checked and defaults filled in; a whole float given for an int
// (2.0) becomes an int, an int given for a float a float; an infinite or NaN number is an
// error whatever the key's range (no key takes one). Returns the completed map. Throws
// ConfigError naming the dotted key, e.g. "attention.options.window" (no file origin).
nlohmann::json validate_section(const SectionSchema& section, const nlohmann::json& values);

class SchemaRegistry {
 public:
  void add(SectionSchema section);
  // A section whose schema depends on the config itself, e.g. attention.options depends on
  // attention.variant. `make` may throw ConfigError (e.g. unknown plugin).
  void add_dynamic(std::string path, std::function<SectionSchema(const ResolvedConfig&)> make);

  // Fills defaults, converts ints given for floats (and whole floats within 64 bits given
  // for ints), and checks every key: unknown keys (with "did you mean" suggestions), no
  // infinite or NaN number anywhere, types, ranges, choices, required keys.
  // Throws ConfigError naming the dotted key and its origin.
  void validate(ResolvedConfig& config) const;

  // Every static section, plus the dynamic ones resolved against `config` when given.
  std::vector<SectionSchema> sections(const ResolvedConfig* config = nullptr) const;

  // Whether `dotted_key` is a key some section declares (dynamic sections resolved against
  // `config`; one that cannot be resolved declares nothing).
  bool declares(const std::string& dotted_key, const ResolvedConfig& config) const;

 private:
  std::vector<SectionSchema> static_;
  std::vector<std::pair<std::string, std::function<SectionSchema(const ResolvedConfig&)>>> dynamic_;
};

}  // namespace attnlab::config
