// A plugin's option specs as config::KeySchema: names, types, ranges and choices read from the
// C descriptor by the SDK's descriptor checks (at most kMaxPluginOptions, each name once),
// defaults checked with config::validate_section.
#include "option_specs.h"

#include <sstream>

#include "attnlab/plugin/descriptor_checks.h"
#include "attnlab/plugin/registry.h"

namespace attnlab::plugin {
namespace {

using config::KeySchema;
using config::ValueType;

std::vector<std::string> split_choices(const std::string& choices) {
  std::vector<std::string> out;
  std::stringstream in(choices);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The value type of a checked spec's type name ("int", "float", "bool" or "string").
ValueType value_type(const std::string& type) {
  for (ValueType t : {ValueType::Int, ValueType::Float, ValueType::Bool}) {
    if (type == config::to_string(t)) return t;
  }
  return ValueType::String;  // checks::read_option admits no other type
}

// One checked spec as a key schema, its default parsed but not yet checked against its type
// and range.
KeySchema key_schema(const checks::OptionSpec& spec) {
  KeySchema schema;
  schema.key = spec.name;
  schema.type = value_type(spec.type);
  schema.min = spec.min_value;
  schema.max = spec.max_value;
  schema.choices = split_choices(spec.choices);
  schema.description = spec.description;
  schema.default_value = spec.default_value;
  return schema;
}

}  // namespace

config::SectionSchema options_section(const std::string& plugin_name, std::vector<KeySchema> keys) {
  return {"attention.options", "plugin " + plugin_name, std::move(keys), false};
}

std::vector<KeySchema> option_schemas(const attnlab_plugin_descriptor& descriptor,
                                      const std::string& where) {
  std::vector<KeySchema> keys;
  for (const auto& spec : checks::read_options<PluginError>(descriptor, where)) {
    keys.push_back(key_schema(spec));
  }
  const std::string plugin_name =
      checks::descriptor_text<PluginError>(descriptor.name, "name", where);
  nlohmann::json defaults;
  try {
    defaults =
        config::validate_section(options_section(plugin_name, keys), nlohmann::json::object());
  } catch (const config::ConfigError& e) {
    throw PluginError(where + ": the default of " + e.key() + " is invalid: " + e.message() +
                      checks::kFixSpec);
  }
  for (auto& key : keys) key.default_value = defaults.at(key.key);
  return keys;
}

}  // namespace attnlab::plugin
