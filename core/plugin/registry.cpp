// PluginRegistry: scanning the plugin directory, loading once per file, creating variants.
#include "attnlab/plugin/registry.h"

#include <algorithm>

#include "attnlab/attention_variant.h"
#include "attnlab/plugin/descriptor_checks.h"
#include "open_plugin.h"
#include "option_specs.h"

namespace attnlab::plugin {
namespace {

namespace fs = std::filesystem;

std::string where(const LoadedPlugin& plugin) {
  return "plugin '" + plugin.name + "' (" + plugin.path.string() + ")";
}

// What a path that is not a directory is instead, for the message.
std::string what_it_is(const fs::file_status& status, const std::error_code& ec) {
  if (status.type() == fs::file_type::not_found) return "it does not exist";
  if (fs::is_regular_file(status)) return "it is a file";
  if (ec) return ec.message();
  return "it is neither a file nor a directory";
}

// Throws unless `dir` is a directory, saying what it is instead.
void check_directory(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (fs::is_directory(status)) return;
  throw PluginError("plugin directory " + dir.string() + " is not a directory (" +
                    what_it_is(status, ec) +
                    "); pass --plugin-dir (or set ATTNLAB_PLUGIN_DIR) to the folder holding "
                    "libattnlab_<name>.so, or build the plugins (cmake --build build)");
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
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
  return checks::create_variant<PluginError>(
      *descriptor, where(*this), dims, options_json,
      "options " + options_json + ", layer " + std::to_string(dims.layer_index));
}

PluginRegistry::PluginRegistry(std::filesystem::path plugin_dir)
    : plugin_dir_(std::move(plugin_dir)) {}

std::vector<std::string> PluginRegistry::available() const {
  check_directory(plugin_dir_);
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(plugin_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    const std::string name = name_from_file(it->path());
    std::error_code file_ec;
    if (name != file && it->is_regular_file(file_ec)) names.push_back(name);
  }
  if (ec) {
    throw PluginError("plugin directory " + plugin_dir_.string() + " cannot be read (" +
                      ec.message() + "); check its permissions or pass another --plugin-dir");
  }
  std::sort(names.begin(), names.end());
  return names;
}

const LoadedPlugin& PluginRegistry::load(const std::string& name) {
  check_directory(plugin_dir_);
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
  const auto key = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (const auto it = loaded_.find(key); it != loaded_.end()) return *it->second;
  auto plugin = open_plugin(path);
  return *loaded_.emplace(key, std::move(plugin)).first->second;
}

const LoadedPlugin& PluginRegistry::load_name_or_path(const std::string& word) {
  const bool is_path = word.find('/') != std::string::npos || ends_with(word, ".so");
  return is_path ? load_path(word) : load(word);
}

std::vector<PluginStatus> PluginRegistry::load_all() {
  std::vector<PluginStatus> statuses;
  for (const auto& name : available()) {
    PluginStatus status;
    status.name = name;
    try {
      status.plugin = &load(name);
    } catch (const PluginError& e) {
      status.error = e.what();
    }
    statuses.push_back(std::move(status));
  }
  return statuses;
}

config::SectionSchema options_schema(const LoadedPlugin& plugin) {
  return options_section(plugin.name, plugin.options);
}

}  // namespace attnlab::plugin
