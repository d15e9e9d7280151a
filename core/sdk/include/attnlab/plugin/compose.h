// Composing plugins: a plugin creates a variant of a sibling plugin (a library in its own
// directory) through the ABI, the way the loader would: dlopen, entry symbol, ABI version,
// struct size, LibTorch version and C++ ABI, and name checked, the sibling's options completed from its defaults and checked
// against its specs (unknown keys, types, ranges, choices) with errors naming the full key.
// Header-only (SDK); libraries are never dlclose'd, as in the loader.
//
//   auto inner = attnlab::plugin::create_sibling_variant(
//       &kOptions, "gated_window", dims, R"({"window": 5})", "attention.options.inner_options");
#pragma once
#include <dlfcn.h>
#include <torch/version.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "attnlab/attention_variant.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::plugin {

namespace compose_detail {

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

// The checked descriptor of libattnlab_<name>.so in `directory`.
inline const attnlab_plugin_descriptor& open_descriptor(const std::string& directory,
                                                        const std::string& name) {
  const std::string path = directory + "/libattnlab_" + name + ".so";
  const std::string where = "plugin '" + name + "' (" + path + ")";
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // never dlclose'd
  if (!handle) {
    const char* why = dlerror();
    throw std::invalid_argument(where + ": dlopen failed: " + (why ? why : "unknown error") +
                                "; is it built next to the calling plugin?");
  }
  auto entry =
      reinterpret_cast<attnlab_plugin_entry_fn>(dlsym(handle, ATTNLAB_PLUGIN_ENTRY_SYMBOL));
  const attnlab_plugin_descriptor* d = entry ? entry() : nullptr;
  if (!d) {
    throw std::invalid_argument(where + ": no " ATTNLAB_PLUGIN_ENTRY_SYMBOL
                                " descriptor; is it an attnlab plugin built with this attnlab?");
  }
  if (d->abi_version != ATTNLAB_PLUGIN_ABI_VERSION) {
    throw std::invalid_argument(where + ": ABI version " + std::to_string(d->abi_version) +
                                ", expected " + std::to_string(ATTNLAB_PLUGIN_ABI_VERSION) +
                                "; rebuild it with this attnlab");
  }
  if (d->struct_size != sizeof(attnlab_plugin_descriptor)) {
    throw std::invalid_argument(where + ": descriptor size " + std::to_string(d->struct_size) +
                                ", expected " + std::to_string(sizeof(attnlab_plugin_descriptor)) +
                                "; rebuild it with this attnlab");
  }
  if (!d->torch_version || std::string(d->torch_version) != TORCH_VERSION ||
      d->cxx11_abi != _GLIBCXX_USE_CXX11_ABI) {
    throw std::invalid_argument(where + ": built against LibTorch " +
                                (d->torch_version ? d->torch_version : "(null)") +
                                ", this plugin runs " TORCH_VERSION "; rebuild it with this attnlab");
  }
  if (!d->name || name != d->name || !d->create || !d->destroy || (d->n_options && !d->options)) {
    throw std::invalid_argument(where + ": descriptor is incomplete or names another plugin ('" +
                                (d->name ? d->name : "(null)") +
                                "'); rebuild it, or name the plugin its file is named after");
  }
  return *d;
}

inline std::string known_keys(const attnlab_plugin_descriptor& d) {
  std::string keys;
  for (uint32_t i = 0; i < d.n_options; ++i)
    keys += (i ? ", " : "") + std::string(d.options[i].name);
  return keys.empty() ? "(none)" : keys;
}

// `value` checked against `spec` (an int given as a whole float becomes an int).
inline nlohmann::json checked_value(const attnlab_option_spec& spec, nlohmann::json value,
                                    const std::string& key) {
  const std::string type = spec.type;
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument(key + ": " + why + ", got " + value.dump());
  };
  if (type == "bool" && !value.is_boolean()) throw bad("must be a bool");
  if (type == "string") {
    if (!value.is_string()) throw bad("must be a string");
    if (!spec.choices) return value;
    std::stringstream choices(spec.choices);
    for (std::string c; std::getline(choices, c, ',');) {
      if (c == value.get<std::string>()) return value;
    }
    throw bad(std::string("must be one of ") + spec.choices);
  }
  if (type == "int" || type == "float") {
    if (!value.is_number())
      throw bad("must be " + std::string(type == "int" ? "an int" : "a number"));
    const double x = value.get<double>();
    if (type == "int" && x != std::floor(x)) throw bad("must be an int");
    if (x < spec.min_value || x > spec.max_value) {
      throw bad("must be in [" + nlohmann::json(spec.min_value).dump() + ", " +
                nlohmann::json(spec.max_value).dump() + "]");
    }
    if (type == "int") return static_cast<int64_t>(x);
    return x;
  }
  return value;
}

// `given` (a JSON object) completed with d's defaults and checked; errors name key_prefix.<key>.
inline nlohmann::json complete_options(const attnlab_plugin_descriptor& d,
                                       const nlohmann::json& given, const std::string& key_prefix) {
  if (!given.is_object())
    throw std::invalid_argument(key_prefix + " must be a JSON object, got " + given.dump());
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : given.items()) {
    bool known = false;
    for (uint32_t i = 0; i < d.n_options; ++i) known = known || key == d.options[i].name;
    if (!known) {
      throw std::invalid_argument(key_prefix + "." + key + ": plugin '" + d.name +
                                  "' has no such option; its options: " + known_keys(d));
    }
  }
  for (uint32_t i = 0; i < d.n_options; ++i) {
    const auto& spec = d.options[i];
    const auto value =
        given.contains(spec.name) ? given.at(spec.name) : nlohmann::json::parse(spec.default_value);
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
  const auto& d =
      compose_detail::open_descriptor(compose_detail::directory_of(caller_address), name);
  const std::string options = compose_detail::complete_options(d, given, key_prefix).dump();
  char error[1024] = {0};
  void* variant = d.create(&dims, options.c_str(), error, sizeof(error));
  if (!variant) {
    throw std::invalid_argument("plugin '" + name + "' (" + key_prefix + " " + options +
                                "): create failed: " + error);
  }
  const auto destroy = d.destroy;
  return std::shared_ptr<AttentionVariant>(static_cast<AttentionVariant*>(variant),
                                           [destroy](AttentionVariant* v) { destroy(v); });
}

}  // namespace attnlab::plugin
