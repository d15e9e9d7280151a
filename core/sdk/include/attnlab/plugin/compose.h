// Composing plugins: a plugin creates a variant of a sibling plugin (a library in its own
// directory) through the ABI, with the loader's checks (plugin/descriptor_checks.h, which the
// loader uses too): dlopen, entry symbol, ABI version, struct size, no NULL field, LibTorch
// version and C++ ABI, name, at most kMaxPluginOptions option specs with unique names, known
// types, non-empty ranges and JSON defaults, strings and create()'s error buffer read within
// bounds, exceptions escaping the entry function or create() caught. Every error names the
// sibling and its file. Then, here: each default checked against its type and range, and the
// sibling's options completed from its defaults and checked (unknown keys, types, ranges,
// choices) with errors naming the full key. Errors are std::invalid_argument.
// Header-only (SDK); libraries are never dlclose'd, as in the loader.
//
//   auto inner = attnlab::plugin::create_sibling_variant(
//       &kOptions, "gated_window", dims, R"({"window": 5})", "attention.options.inner_options");
#pragma once
#include <dlfcn.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "attnlab/attention_variant.h"
#include "attnlab/plugin/descriptor_checks.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::plugin {

namespace compose_detail {

using Spec = checks::OptionSpec;

// A sibling plugin: "plugin 'x' (/dir/libattnlab_x.so)", its descriptor and its option specs.
struct Sibling {
  std::string where;
  const attnlab_plugin_descriptor* descriptor;
  std::vector<Spec> specs;
};

// The directory of the shared object holding `address` (any address inside the caller).
inline std::string directory_of(const void* address) {
  Dl_info info{};
  if (!dladdr(address, &info) || !info.dli_fname) {
    throw std::invalid_argument("cannot find the calling plugin's file (dladdr failed)");
  }
  const std::string path = info.dli_fname;
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// `value` checked against `spec` (an int given as a whole float becomes an int); errors name
// `key`.
inline nlohmann::json checked_value(const Spec& spec, nlohmann::json value,
                                    const std::string& key) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument(key + ": " + why + ", got " + value.dump());
  };
  if (spec.type == "bool" && !value.is_boolean()) throw bad("must be a bool");
  if (spec.type == "string") {
    if (!value.is_string()) throw bad("must be a string");
    if (spec.choices.empty()) return value;
    std::stringstream choices(spec.choices);
    for (std::string c; std::getline(choices, c, ',');) {
      if (c == value.get<std::string>()) return value;
    }
    throw bad("must be one of " + spec.choices);
  }
  if (spec.type == "int" || spec.type == "float") {
    if (!value.is_number())
      throw bad("must be " + std::string(spec.type == "int" ? "an int" : "a number"));
    const double x = value.get<double>();
    if (spec.type == "int" && x != std::floor(x)) throw bad("must be an int");
    if (x < spec.min_value || x > spec.max_value) {
      throw bad("must be in [" + nlohmann::json(spec.min_value).dump() + ", " +
                nlohmann::json(spec.max_value).dump() + "]");
    }
    if (spec.type == "int") return static_cast<int64_t>(x);
    return x;
  }
  return value;
}

// Sibling plugin `name` of `directory`, every check of descriptor_checks.h passed and each
// option's default checked against its type and range.
inline Sibling open_sibling(const std::string& directory, const std::string& name) {
  using Error = std::invalid_argument;
  const std::string path = directory + "/libattnlab_" + name + ".so";
  Sibling sibling;
  sibling.where = "plugin '" + name + "' (" + path + ")";
  sibling.descriptor = &checks::open_descriptor<Error>(path, sibling.where,
                                                       "is it built next to the calling plugin?");
  checks::read_facts<Error>(*sibling.descriptor, name, sibling.where);
  sibling.specs = checks::read_options<Error>(*sibling.descriptor, sibling.where);
  for (auto& spec : sibling.specs) {
    try {
      spec.default_value = checked_value(spec, spec.default_value, "has an invalid default");
    } catch (const Error& e) {
      throw Error(sibling.where + ": option '" + spec.name + "' " + e.what() + checks::kFixSpec);
    }
  }
  return sibling;
}

inline std::string known_keys(const std::vector<Spec>& specs) {
  std::string keys;
  for (const auto& spec : specs) keys += (keys.empty() ? "" : ", ") + spec.name;
  return keys.empty() ? "(none)" : keys;
}

// `given` (a JSON object) completed with the sibling's defaults and checked; errors name
// key_prefix.<key>.
inline nlohmann::json complete_options(const Sibling& sibling, const nlohmann::json& given,
                                       const std::string& key_prefix) {
  if (!given.is_object())
    throw std::invalid_argument(key_prefix + " must be a JSON object, got " + given.dump());
  for (const auto& [key, value] : given.items()) {
    bool known = false;
    for (const auto& spec : sibling.specs) known = known || key == spec.name;
    if (!known) {
      throw std::invalid_argument(key_prefix + "." + key + ": " + sibling.where +
                                  " has no such option; its options: " + known_keys(sibling.specs));
    }
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& spec : sibling.specs) {
    const auto value = given.contains(spec.name) ? given.at(spec.name) : spec.default_value;
    out[spec.name] = checked_value(spec, value, key_prefix + "." + spec.name);
  }
  return out;
}

}  // namespace compose_detail

// A variant of plugin `name`, found next to the shared object holding `caller_address` (pass
// the address of something of the calling plugin's own, e.g. its option table), for `dims`,
// with `options_json` (JSON object text) completed and checked; errors name
// `key_prefix.<key>`. The variant is destroyed through the sibling's `destroy`.
inline std::shared_ptr<AttentionVariant> create_sibling_variant(const void* caller_address,
                                                                const std::string& name,
                                                                const attnlab_layer_dims& dims,
                                                                const std::string& options_json,
                                                                const std::string& key_prefix) {
  nlohmann::json given;
  try {
    given = nlohmann::json::parse(options_json);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(key_prefix + " is not JSON text: " + e.what());
  }
  const auto sibling =
      compose_detail::open_sibling(compose_detail::directory_of(caller_address), name);
  const std::string options = compose_detail::complete_options(sibling, given, key_prefix).dump();
  return checks::create_variant<std::invalid_argument>(*sibling.descriptor, sibling.where, dims,
                                                       options, key_prefix + " " + options);
}

}  // namespace attnlab::plugin
