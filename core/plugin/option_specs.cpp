// A plugin's option specs as config::KeySchema: names, types, ranges and choices read from the
// C descriptor, defaults checked with config::validate_section.
#include "option_specs.h"

#include <cmath>
#include <sstream>

#include "attnlab/plugin/registry.h"

namespace attnlab::plugin {
namespace {

using config::KeySchema;
using config::ValueType;

constexpr const char* kFixSpec = "; fix the option spec in the plugin's descriptor";

std::string number_str(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

std::vector<std::string> split_choices(const char* choices) {
  std::vector<std::string> out;
  if (!choices) return out;
  std::stringstream in(choices);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The value type a spec's type name ("int", "float", "bool", "string") stands for.
ValueType value_type(const std::string& type, const std::string& name, const std::string& where) {
  for (ValueType t : {ValueType::Int, ValueType::Float, ValueType::Bool, ValueType::String}) {
    if (type == config::to_string(t)) return t;
  }
  throw PluginError(where + ": option '" + name + "' has type '" + type +
                    "', expected int, float, bool or string" + kFixSpec);
}

// One spec as a key schema, its default parsed but not yet checked against its type and range.
KeySchema key_schema(const attnlab_option_spec& spec, uint32_t index, const std::string& where) {
  const std::string name = spec.name ? spec.name : "";
  if (name.empty())
    throw PluginError(where + ": option #" + std::to_string(index) + " has no name" + kFixSpec);
  KeySchema schema;
  schema.key = name;
  schema.type = value_type(spec.type ? spec.type : "", name, where);
  schema.min = spec.min_value;
  schema.max = spec.max_value;
  if (std::isnan(schema.min) || std::isnan(schema.max) || schema.min > schema.max) {
    throw PluginError(where + ": option '" + name + "' has an empty range [" +
                      number_str(schema.min) + ", " + number_str(schema.max) + "]" + kFixSpec);
  }
  schema.choices = split_choices(spec.choices);
  schema.description = spec.description ? spec.description : "";
  try {
    schema.default_value = nlohmann::json::parse(spec.default_value ? spec.default_value : "");
  } catch (const nlohmann::json::exception&) {
    throw PluginError(where + ": option '" + name + "' has a default that is not JSON text: '" +
                      (spec.default_value ? spec.default_value : "(null)") + "'" + kFixSpec);
  }
  return schema;
}

}  // namespace

config::SectionSchema options_section(const std::string& plugin_name, std::vector<KeySchema> keys) {
  return {"attention.options", "plugin " + plugin_name, std::move(keys), false};
}

std::vector<KeySchema> option_schemas(const attnlab_plugin_descriptor& descriptor,
                                      const std::string& where) {
  std::vector<KeySchema> keys;
  for (uint32_t i = 0; i < descriptor.n_options; ++i) {
    keys.push_back(key_schema(descriptor.options[i], i, where));
  }
  nlohmann::json defaults;
  try {
    defaults =
        config::validate_section(options_section(descriptor.name, keys), nlohmann::json::object());
  } catch (const config::ConfigError& e) {
    throw PluginError(where + ": the default of " + e.key() + " is invalid: " + e.message() +
                      kFixSpec);
  }
  for (auto& key : keys) key.default_value = defaults.at(key.key);
  return keys;
}

}  // namespace attnlab::plugin
