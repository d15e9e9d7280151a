// Finding, loading and checking attention plugins (libattnlab_<name>.so), and creating their
// variants. The checks run in this order, each failing with its own one-line PluginError
// that names the plugin, the path and what to do: the path exists, dlopen (RTLD_NOW |
// RTLD_LOCAL), the entry symbol (an exception escaping it is caught), abi_version,
// struct_size, the descriptor's fields (strings read at most kMaxDescriptorText bytes far),
// LibTorch version and C++11 ABI, the name matching the file, the option specs (at most
// kMaxPluginOptions, names unique); all but the first are the SDK's
// attnlab/plugin/descriptor_checks.h, which plugin/compose.h applies to a sibling plugin too.
// Options given to create() are checked against the plugin's specs by the config schema's
// validator and completed with the defaults.
// Libraries are never unloaded (a plugin's statics may outlive any handle we hold).
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "attnlab/config/schema.h"
#include "attnlab/plugin/descriptor_checks.h"  // kMaxPluginOptions, kMaxDescriptorText, ...
#include "attnlab/plugin_abi.h"

namespace attnlab {
class AttentionVariant;
}

namespace attnlab::plugin {

class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadedPlugin {
  std::string name;
  std::string version;
  std::string description;
  std::string torch_version;   // the LibTorch version it was built against
  std::filesystem::path path;  // absolute
  std::string sha256;          // of the library file, lowercase hex
  const attnlab_plugin_descriptor* descriptor = nullptr;
  std::vector<config::KeySchema> options;  // in declaration order

  // `options` checked by config::validate_section against options_schema(*this) (the rules
  // config composition applies to attention.options) with every default filled in; throws
  // PluginError naming the plugin and the key (attention.options.<name>) on an unknown key, a
  // wrong type, a value out of range or not among the choices.
  nlohmann::json complete_options(const nlohmann::json& options) const;

  // Creates the variant for one layer (options completed as above). The shared_ptr's deleter
  // calls the plugin's destroy. Throws PluginError naming the plugin and its file, with the
  // plugin's message, if create returns NULL or throws.
  std::shared_ptr<AttentionVariant> create(const attnlab_layer_dims& dims,
                                           const nlohmann::json& options) const;
};

// One plugin file of the directory: loaded, or why not.
struct PluginStatus {
  std::string name;
  const LoadedPlugin* plugin = nullptr;  // null when it cannot be loaded
  std::string error;                     // then: the PluginError's message
};

class PluginRegistry {
 public:
  explicit PluginRegistry(std::filesystem::path plugin_dir);

  const std::filesystem::path& plugin_dir() const { return plugin_dir_; }
  // Names of the libattnlab_<name>.so files in the plugin directory, sorted.
  // Throws PluginError ("<dir> is not a directory") if it does not exist or is not one.
  std::vector<std::string> available() const;
  // Loads <plugin_dir>/libattnlab_<name>.so (once; later calls return the same object).
  // An unknown name fails with the list of available ones.
  const LoadedPlugin& load(const std::string& name);
  // Loads a plugin library by path, as given (its file name must be libattnlab_<name>.so).
  const LoadedPlugin& load_path(const std::filesystem::path& path);
  // What a user typed: a word holding a '/' or ending in ".so" is a path, loaded as given
  // (relative to the working directory); any other word is a name, looked up by load().
  const LoadedPlugin& load_name_or_path(const std::string& word);
  // Every plugin in the directory, sorted by name, each loaded or with its error, so one
  // broken plugin hides none of the others. Throws only as available() does.
  std::vector<PluginStatus> load_all();

 private:
  std::filesystem::path plugin_dir_;
  std::mutex mutex_;
  std::map<std::filesystem::path, std::unique_ptr<LoadedPlugin>> loaded_;  // by canonical path
};

// The plugin's options as the config section "attention.options" (owner "plugin <name>").
config::SectionSchema options_schema(const LoadedPlugin& plugin);

}  // namespace attnlab::plugin
