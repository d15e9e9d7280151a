// What a plugin author needs besides plugin_abi.h: a descriptor filled with this build's ABI
// facts, an exception-safe `create` that turns any throw into NULL + message, the matching
// `destroy`, and typed reads of the options JSON with errors that name the option.
//
//   AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options);
//   extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
//     static const auto d = attnlab::plugin::describe_plugin<make>("name", "1.0.0", "…", kOptions);
//     return &d;
//   }
#pragma once
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "attnlab/attention_variant.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::plugin {

using MakeVariantFn = AttentionVariant* (*)(const attnlab_layer_dims&, const nlohmann::json&);

// The MakeVariantFn of a variant class whose constructor takes (dims, options):
// describe_plugin<construct<MyVariant>>(...).
template <class Variant>
AttentionVariant* construct(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  return new Variant(dims, options);
}

// Reads declared option `name` as T (int64_t, double, bool or std::string), checking its JSON
// type; throws std::invalid_argument naming the option otherwise.
template <class T>
T option(const nlohmann::json& options, const char* name) {
  if (!options.is_object() || !options.contains(name)) {
    throw std::invalid_argument(std::string("option '") + name +
                                "' is missing from the options object");
  }
  const auto& v = options.at(name);
  bool ok = false;
  const char* want = "";
  if constexpr (std::is_same_v<T, bool>) {
    ok = v.is_boolean(), want = "a bool";
  } else if constexpr (std::is_integral_v<T>) {
    ok = v.is_number_integer(), want = "an int";
  } else if constexpr (std::is_floating_point_v<T>) {
    ok = v.is_number(), want = "a number";
  } else {
    ok = v.is_string(), want = "a string";
  }
  if (!ok)
    throw std::invalid_argument(std::string("option '") + name + "' must be " + want + ", got " +
                                v.dump());
  return v.get<T>();
}

inline void write_error(char* error, size_t error_len, const std::string& message) {
  if (error && error_len > 0) std::snprintf(error, error_len, "%s", message.c_str());
}

// The descriptor's `create`: Make(dims, parsed options) as an AttentionVariant*; never throws.
template <MakeVariantFn Make>
void* create_variant(const attnlab_layer_dims* dims, const char* options_json, char* error,
                     size_t error_len) noexcept {
  try {
    if (!dims) throw std::invalid_argument("layer dims are NULL");
    const auto options = nlohmann::json::parse(options_json ? options_json : "{}");
    AttentionVariant* variant = Make(*dims, options);
    return variant;
  } catch (const c10::Error& e) {
    write_error(error, error_len, e.what_without_backtrace());
  } catch (const std::exception& e) {
    write_error(error, error_len, e.what());
  } catch (...) {
    write_error(error, error_len, "unknown exception (not derived from std::exception)");
  }
  return nullptr;
}

// The descriptor's `destroy`: deletes what create_variant returned.
inline void destroy_variant(void* variant) noexcept {
  delete static_cast<AttentionVariant*>(variant);
}

// A descriptor carrying this build's ABI version, struct size, LibTorch version and C++ ABI.
template <MakeVariantFn Make>
attnlab_plugin_descriptor make_descriptor(const char* name, const char* version,
                                          const char* description,
                                          const attnlab_option_spec* options, uint32_t n_options) {
  return {ATTNLAB_PLUGIN_ABI_VERSION,
          static_cast<uint32_t>(sizeof(attnlab_plugin_descriptor)),
          name,
          version,
          TORCH_VERSION,
          _GLIBCXX_USE_CXX11_ABI,
          description,
          options,
          n_options,
          &create_variant<Make>,
          &destroy_variant};
}

// The descriptor of a plugin with options.
template <MakeVariantFn Make, size_t N>
attnlab_plugin_descriptor describe_plugin(const char* name, const char* version,
                                          const char* description,
                                          const attnlab_option_spec (&options)[N]) {
  return make_descriptor<Make>(name, version, description, options, static_cast<uint32_t>(N));
}

// The descriptor of a plugin without options.
template <MakeVariantFn Make>
attnlab_plugin_descriptor describe_plugin(const char* name, const char* version,
                                          const char* description) {
  return make_descriptor<Make>(name, version, description, nullptr, 0u);
}

}  // namespace attnlab::plugin
