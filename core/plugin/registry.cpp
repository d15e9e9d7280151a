// PluginRegistry: scanning the plugin directory, loading once per file, creating variants.
#include "attnlab/plugin/registry.h"

#include <algorithm>

#include "attnlab/attention_variant.h"
#include "open_plugin.h"
#include "option_specs.h"

namespace attnlab::plugin {
namespace {

std::string where(const LoadedPlugin& plugin) {
  return "plugin '" + plugin.name + "' (" + plugin.path.string() + ")";
}

}  // namespace

nlohmann::json LoadedPlugin::complete_options(const nlohmann::json& options) const {
  try {
    return config::validate_section(options_schema(*this), options);
  } catch (const config::ConfigError& e) {
    throw PluginError(where(*this) + ": " + e.key() + ": " + e.message());
  }
}

std::shared_ptr<AttentionVariant> LoadedPlugin::create(const attnlab_layer_dims& dims,
                                                       const nlohmann::json& options) const {
  const std::string options_json = complete_options(options).dump();
  char error[1024] = "";
  void* raw = descriptor->create(&dims, options_json.c_str(), error, sizeof(error));
  if (!raw) {
    throw PluginError(where(*this) + ": create failed: " + (error[0] ? error : "(no message)") +
                      " [options " + options_json + ", layer " + std::to_string(dims.layer_index) +
                      "]");
  }
  const auto destroy = descriptor->destroy;
  return std::shared_ptr<AttentionVariant>(static_cast<AttentionVariant*>(raw),
                                           [destroy](AttentionVariant* v) { destroy(v); });
}

PluginRegistry::PluginRegistry(std::filesystem::path plugin_dir)
    : plugin_dir_(std::move(plugin_dir)) {}

std::vector<std::string> PluginRegistry::available() const {
  std::error_code ec;
  if (!std::filesystem::is_directory(plugin_dir_, ec)) {
    throw PluginError(
        "plugin directory " + plugin_dir_.string() +
        " does not exist; build the plugins (cmake --build build) or pass --plugin-dir "
        "(or set ATTNLAB_PLUGIN_DIR)");
  }
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(plugin_dir_)) {
    const std::string file = entry.path().filename().string();
    const std::string name = name_from_file(entry.path());
    if (name != file && entry.is_regular_file(ec)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

const LoadedPlugin& PluginRegistry::load(const std::string& name) {
  const auto path = plugin_dir_ / ("libattnlab_" + name + ".so");
  std::error_code ec;
  if (name.find('/') != std::string::npos || !std::filesystem::exists(path, ec)) {
    std::string list;
    for (const auto& known : available()) list += (list.empty() ? "" : ", ") + known;
    throw PluginError("unknown attention plugin '" + name + "' (no " + path.string() +
                      "); available: " + (list.empty() ? "none (build the plugins)" : list));
  }
  return load_path(path);
}

const LoadedPlugin& PluginRegistry::load_path(const std::filesystem::path& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::error_code ec;
  const auto key = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
  if (const auto it = loaded_.find(key); it != loaded_.end()) return *it->second;
  auto plugin = open_plugin(path);
  return *loaded_.emplace(key, std::move(plugin)).first->second;
}

config::SectionSchema options_schema(const LoadedPlugin& plugin) {
  return options_section(plugin.name, plugin.options);
}

}  // namespace attnlab::plugin
