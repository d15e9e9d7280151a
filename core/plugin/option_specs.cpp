// A plugin's option specs: conversion to config::KeySchema and validation of option values.
#include "option_specs.h"

#include <cmath>
#include <sstream>

#include "attnlab/plugin/registry.h"

namespace attnlab::plugin {
namespace {

using config::KeySchema;
using config::ValueType;

std::string number_str(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// Empty if `value` is acceptable for `schema`, else what is wrong with it.
std::string value_problem(const KeySchema& schema, const nlohmann::json& value) {
  const bool type_ok = (schema.type == ValueType::Int && value.is_number_integer()) ||
                       (schema.type == ValueType::Float && value.is_number()) ||
                       (schema.type == ValueType::Bool && value.is_boolean()) ||
                       (schema.type == ValueType::String && value.is_string());
  if (!type_ok) return std::string("must be ") + config::to_string(schema.type) + ", got " + value.dump();
  if (value.is_number()) {
    const double x = value.get<double>();
    if (x < schema.min || x > schema.max) {
      return "= " + value.dump() + " is outside the allowed range [" + number_str(schema.min) +
             ", " + number_str(schema.max) + "]";
    }
  }
  if (value.is_string() && !schema.choices.empty()) {
    for (const auto& choice : schema.choices) {
      if (value.get<std::string>() == choice) return "";
    }
    std::string list;
    for (const auto& choice : schema.choices) list += (list.empty() ? "" : ", ") + choice;
    return "= " + value.dump() + " is not one of: " + list;
  }
  return "";
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

}  // namespace

std::vector<KeySchema> option_schemas(const attnlab_plugin_descriptor& descriptor,
                                      const std::string& where) {
  std::vector<KeySchema> out;
  for (uint32_t i = 0; i < descriptor.n_options; ++i) {
    const attnlab_option_spec& spec = descriptor.options[i];
    const std::string name = spec.name ? spec.name : "";
    const std::string fix = "; fix the option spec in the plugin's descriptor";
    if (name.empty())
      throw PluginError(where + ": option #" + std::to_string(i) + " has no name" + fix);
    KeySchema schema;
    schema.key = name;
    const std::string type = spec.type ? spec.type : "";
    if (type == "int")
      schema.type = ValueType::Int;
    else if (type == "float")
      schema.type = ValueType::Float;
    else if (type == "bool")
      schema.type = ValueType::Bool;
    else if (type == "string")
      schema.type = ValueType::String;
    else
      throw PluginError(where + ": option '" + name + "' has type '" + type +
                        "', expected int, float, bool or string" + fix);
    schema.min = spec.min_value;
    schema.max = spec.max_value;
    if (std::isnan(schema.min) || std::isnan(schema.max) || schema.min > schema.max) {
      throw PluginError(where + ": option '" + name + "' has an empty range [" +
                        number_str(schema.min) + ", " + number_str(schema.max) + "]" + fix);
    }
    schema.choices = split_choices(spec.choices);
    schema.description = spec.description ? spec.description : "";
    try {
      schema.default_value = nlohmann::json::parse(spec.default_value ? spec.default_value : "");
    } catch (const nlohmann::json::exception&) {
      throw PluginError(where + ": option '" + name + "' has a default that is not JSON text: '" +
                        (spec.default_value ? spec.default_value : "(null)") + "'" + fix);
    }
    if (const auto problem = value_problem(schema, schema.default_value); !problem.empty()) {
      throw PluginError(where + ": option '" + name + "' default " + problem + fix);
    }
    out.push_back(std::move(schema));
  }
  return out;
}

nlohmann::json complete_options(const std::vector<KeySchema>& schemas,
                                const nlohmann::json& options, const std::string& where) {
  if (!options.is_null() && !options.is_object()) {
    throw PluginError(where + ": attention.options must be a map of option: value, got " +
                      options.dump());
  }
  nlohmann::json out = nlohmann::json::object();
  if (options.is_object()) {
    for (const auto& [key, value] : options.items()) {
      bool known = false;
      for (const auto& schema : schemas) known = known || schema.key == key;
      if (!known) {
        std::string list;
        for (const auto& schema : schemas) list += (list.empty() ? "" : ", ") + schema.key;
        throw PluginError(where + ": unknown option attention.options." + key + "; it accepts " +
                          (list.empty() ? std::string("no options") : list));
      }
    }
  }
  for (const auto& schema : schemas) {
    const bool given = options.is_object() && options.contains(schema.key);
    const nlohmann::json& value = given ? options.at(schema.key) : schema.default_value;
    if (const auto problem = value_problem(schema, value); !problem.empty()) {
      throw PluginError(where + ": option attention.options." + schema.key + " " + problem);
    }
    out[schema.key] = value;
  }
  return out;
}

}  // namespace attnlab::plugin
