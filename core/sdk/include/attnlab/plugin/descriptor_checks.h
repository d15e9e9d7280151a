// What a plugin library hands over, checked without trusting it: the one implementation of the
// loader's rules, used by the loader (core/plugin) and by plugin/compose.h (a plugin opening a
// sibling), so both refuse the same things with the same messages. In order: dlopen, the entry
// symbol, abi_version, struct_size, no NULL field, LibTorch version and C++11 ABI, the name
// matching the file, the option specs (at most kMaxPluginOptions, checked before any is read;
// each with a name, a known type, a non-empty range and a JSON default; names unique). Strings
// are read at most kMaxDescriptorText bytes far and create()'s error buffer at most
// kCreateErrorSize; an exception escaping the entry function or create() (the ABI forbids it)
// is caught. Each check throws `Error` (the loader's PluginError, compose.h's
// std::invalid_argument) prefixed by `where`, "plugin 'x' (/path/libattnlab_x.so)", saying what
// to do: never a crash or a read past the end. What a default must satisfy beyond being JSON is
// each caller's (the loader checks it with the config schema's validator).
// Header-only (SDK): includes nothing of core/include. Libraries are never dlclose'd.
#pragma once
#include <dlfcn.h>
#include <torch/version.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "attnlab/plugin_abi.h"

namespace attnlab {
class AttentionVariant;
}

namespace attnlab::plugin {

// The most options a descriptor may declare: a larger n_options is refused before any is read.
inline constexpr uint32_t kMaxPluginOptions = 256;
// The longest descriptor string (name, description, an option's default, ...) in bytes: a
// string is never read further, so one without its NUL is refused instead of overread.
inline constexpr size_t kMaxDescriptorText = 4096;
// The size of the buffer create() writes its error message to (read at most this far).
inline constexpr size_t kCreateErrorSize = 1024;

namespace checks {

constexpr const char* kRebuild = "; rebuild the plugin against this attnlab (cmake --build build)";
constexpr const char* kFixSpec = "; fix the option spec in the plugin's descriptor";
// An older plugin's vtable lacks the newer virtuals (calling one would run past its end):
// refused, saying what each later version added.
constexpr const char* kFromV1 =
    " (ABI 1 predates interface v2, whose AttentionVariant adds aux_loss, statistics, decoding "
    "and parameter groups, and v3, which adds selects_over_sequence and gate distillation; the "
    "source needs no change)";
constexpr const char* kFromV2 =
    " (ABI 2 predates interface v3, whose AttentionVariant adds selects_over_sequence and gate "
    "distillation; the source needs no change)";

// The descriptor's strings, each read within bounds.
struct DescriptorFacts {
  std::string name, version, torch_version, description;
};

// One option spec, its strings copied out: type is "int", "float", "bool" or "string",
// min_value <= max_value, default_value parsed (not yet checked against type and range).
struct OptionSpec {
  std::string name, type, choices, description;
  double min_value = 0, max_value = 0;
  nlohmann::json default_value;
};

// fn() (a call into the plugin, e.g. its `function` "create"), with an escaping exception
// turned into an Error naming the plugin, its file and the function.
template <class Error, class Fn>
auto call_plugin(const std::string& where, const char* function, Fn&& fn) -> decltype(fn()) {
  const std::string prefix = where + ": " + function + "() threw ";
  const std::string fix = "; no exception may cross the plugin ABI: catch it in the plugin (" +
                          std::string(function) + " must return, see docs/PLUGINS.md)";
  try {
    return fn();
  } catch (const std::exception& e) {
    throw Error(prefix + "'" + e.what() + "'" + fix);
  } catch (...) {
    throw Error(prefix + "an exception not derived from std::exception" + fix);
  }
}

// The descriptor string `text` (`field`, e.g. "description"), read at most
// kMaxDescriptorText bytes far; NULL reads as "". A longer one (or one without its NUL) is
// refused naming the field.
template <class Error>
std::string descriptor_text(const char* text, const std::string& field, const std::string& where) {
  if (!text) return "";
  const size_t length = strnlen(text, kMaxDescriptorText + 1);
  if (length > kMaxDescriptorText) {
    throw Error(where + ": the descriptor's " + field + " is longer than " +
                std::to_string(kMaxDescriptorText) +
                " bytes (or lacks its NUL terminator); shorten it in the plugin");
  }
  return std::string(text, length);
}

// The message create() left in its error buffer, read at most the buffer's size far.
inline std::string create_message(const char* error) {
  const size_t length = strnlen(error, kCreateErrorSize);
  if (length == 0) return "(no message)";
  if (length < kCreateErrorSize) return std::string(error, length);
  return std::string(error, length) + " [cut at " + std::to_string(kCreateErrorSize) +
         " bytes: the plugin's message lacks its NUL terminator]";
}

// dlopen of `path` (never dlclose'd); a failure says dlerror() and then `hint`.
template <class Error>
void* open_library(const std::string& path, const std::string& where, const std::string& hint) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw Error(where + ": dlopen failed: " + (why ? why : "unknown error") + "; " + hint);
  }
  return handle;
}

// What the entry function returns: never NULL, and an exception escaping it is an Error.
template <class Error>
const attnlab_plugin_descriptor& entry_descriptor(void* handle, const std::string& where) {
  dlerror();
  void* symbol = dlsym(handle, ATTNLAB_PLUGIN_ENTRY_SYMBOL);
  if (!symbol) {
    throw Error(where + ": no entry symbol '" ATTNLAB_PLUGIN_ENTRY_SYMBOL
                        "'; a plugin must export it as extern \"C\" (see docs/PLUGINS.md)");
  }
  const auto entry = reinterpret_cast<attnlab_plugin_entry_fn>(symbol);
  const auto* d = call_plugin<Error>(where, ATTNLAB_PLUGIN_ENTRY_SYMBOL, entry);
  if (!d) {
    throw Error(where + ": " ATTNLAB_PLUGIN_ENTRY_SYMBOL
                        "() returned NULL; it must return its static descriptor");
  }
  return *d;
}

// abi_version and struct_size, checked before any other field is read.
template <class Error>
void check_layout(const attnlab_plugin_descriptor& d, const std::string& where) {
  if (d.abi_version != ATTNLAB_PLUGIN_ABI_VERSION) {
    throw Error(where + ": built for plugin ABI version " + std::to_string(d.abi_version) +
                ", this attnlab expects " + std::to_string(ATTNLAB_PLUGIN_ABI_VERSION) +
                (d.abi_version == 1 ? kFromV1 : d.abi_version == 2 ? kFromV2 : "") + kRebuild);
  }
  if (d.struct_size != sizeof(attnlab_plugin_descriptor)) {
    throw Error(where + ": descriptor struct_size is " + std::to_string(d.struct_size) +
                " bytes, this attnlab's is " + std::to_string(sizeof(attnlab_plugin_descriptor)) +
                " (same ABI version, different header)" + kRebuild);
  }
}

// The descriptor the library at `path` exports, its layout checked; dlopen failures end
// with `dlopen_hint`.
template <class Error>
const attnlab_plugin_descriptor& open_descriptor(const std::string& path, const std::string& where,
                                                 const std::string& dlopen_hint) {
  const auto& d = entry_descriptor<Error>(open_library<Error>(path, where, dlopen_hint), where);
  check_layout<Error>(d, where);
  return d;
}

// The descriptor's facts (strings read bounded), checked against this build and against
// `file_name`, the name its file libattnlab_<file_name>.so implies.
template <class Error>
DescriptorFacts read_facts(const attnlab_plugin_descriptor& d, const std::string& file_name,
                           const std::string& where) {
  if (!d.name || !d.version || !d.torch_version || !d.create || !d.destroy ||
      (d.n_options > 0 && !d.options)) {
    throw Error(where +
                ": descriptor has a NULL name, version, torch_version, create, destroy "
                "or options; fill every field (see docs/PLUGINS.md)");
  }
  DescriptorFacts facts{descriptor_text<Error>(d.name, "name", where),
                        descriptor_text<Error>(d.version, "version", where),
                        descriptor_text<Error>(d.torch_version, "torch_version", where),
                        descriptor_text<Error>(d.description, "description", where)};
  if (facts.torch_version != TORCH_VERSION || d.cxx11_abi != _GLIBCXX_USE_CXX11_ABI) {
    throw Error(where + ": built against LibTorch " + facts.torch_version +
                " with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(d.cxx11_abi) +
                ", this attnlab runs LibTorch " TORCH_VERSION " with _GLIBCXX_USE_CXX11_ABI=" +
                std::to_string(_GLIBCXX_USE_CXX11_ABI) + kRebuild);
  }
  if (file_name != facts.name) {
    throw Error(where + ": the descriptor's name is '" + facts.name + "' but the file says '" +
                file_name + "'; rename the file to libattnlab_" + facts.name +
                ".so or fix the name in the descriptor");
  }
  return facts;
}

inline std::string number_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// Option spec #index, its strings read bounded, its type and range checked, its default parsed.
template <class Error>
OptionSpec read_option(const attnlab_option_spec& raw, uint32_t index, const std::string& where) {
  const std::string field = "option #" + std::to_string(index);
  OptionSpec spec;
  spec.name = descriptor_text<Error>(raw.name, field + " name", where);
  if (spec.name.empty()) throw Error(where + ": " + field + " has no name" + kFixSpec);
  const std::string option = where + ": option '" + spec.name + "' ";
  const auto text = [&](const char* value, const char* what) {
    return descriptor_text<Error>(value, "option '" + spec.name + "' " + what, where);
  };
  spec.type = text(raw.type, "type");
  if (spec.type != "int" && spec.type != "float" && spec.type != "bool" && spec.type != "string") {
    throw Error(option + "has type '" + spec.type + "', expected int, float, bool or string" +
                kFixSpec);
  }
  spec.min_value = raw.min_value;
  spec.max_value = raw.max_value;
  if (std::isnan(spec.min_value) || std::isnan(spec.max_value) || spec.min_value > spec.max_value) {
    throw Error(option + "has an empty range [" + number_text(spec.min_value) + ", " +
                number_text(spec.max_value) + "]" + kFixSpec);
  }
  spec.choices = text(raw.choices, "choices");
  spec.description = text(raw.description, "description");
  const std::string given = raw.default_value ? text(raw.default_value, "default_value") : "(null)";
  try {
    spec.default_value = nlohmann::json::parse(given);
  } catch (const nlohmann::json::exception&) {
    throw Error(option + "has a default that is not JSON text: '" + given + "'" + kFixSpec);
  }
  return spec;
}

// The descriptor's option specs in declaration order: at most kMaxPluginOptions (refused
// before any is read), each read by read_option, then a name declared twice refused naming
// both declarations.
template <class Error>
std::vector<OptionSpec> read_options(const attnlab_plugin_descriptor& d, const std::string& where) {
  if (d.n_options > kMaxPluginOptions) {
    throw Error(where + ": the descriptor declares n_options = " + std::to_string(d.n_options) +
                ", more than the " + std::to_string(kMaxPluginOptions) +
                " a plugin may declare; n_options must be the length of its options array");
  }
  std::vector<OptionSpec> specs;
  for (uint32_t i = 0; i < d.n_options; ++i)
    specs.push_back(read_option<Error>(d.options[i], i, where));
  for (size_t i = 0; i < specs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (specs[j].name != specs[i].name) continue;
      throw Error(where + ": option '" + specs[i].name + "' is declared twice (option #" +
                  std::to_string(j) + " and #" + std::to_string(i) +
                  "); remove or rename one in the plugin's descriptor");
    }
  }
  return specs;
}

// d.create for `dims` with `options_json` (already checked); an exception escaping it or a NULL
// result is an Error with the plugin's message and `context` (e.g. the options) in brackets.
// The shared_ptr's deleter calls d.destroy.
template <class Error>
std::shared_ptr<AttentionVariant> create_variant(const attnlab_plugin_descriptor& d,
                                                 const std::string& where,
                                                 const attnlab_layer_dims& dims,
                                                 const std::string& options_json,
                                                 const std::string& context) {
  char error[kCreateErrorSize] = "";
  void* raw = call_plugin<Error>(
      where, "create", [&] { return d.create(&dims, options_json.c_str(), error, sizeof(error)); });
  if (!raw) {
    throw Error(where + ": create failed: " + create_message(error) + " [" + context + "]");
  }
  const auto destroy = d.destroy;
  return std::shared_ptr<AttentionVariant>(static_cast<AttentionVariant*>(raw),
                                           [destroy](AttentionVariant* v) { destroy(v); });
}

}  // namespace checks
}  // namespace attnlab::plugin
