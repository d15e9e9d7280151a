// Opening a plugin library and the ordered checks on its descriptor (see registry.h), which
// are the SDK's attnlab/plugin/descriptor_checks.h (compose.h applies them too) throwing
// PluginError.
#include "open_plugin.h"

#include <string>

#include "attnlab/plugin/descriptor_checks.h"
#include "attnlab/util/sha256.h"
#include "option_specs.h"

namespace attnlab::plugin {
namespace {

constexpr const char* kPrefix = "libattnlab_";
constexpr const char* kSuffix = ".so";

}  // namespace

std::string name_from_file(const std::filesystem::path& path) {
  const std::string file = path.filename().string();
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (file.size() > prefix.size() + suffix.size() && file.compare(0, prefix.size(), prefix) == 0 &&
      file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
  }
  return file;
}

std::unique_ptr<LoadedPlugin> open_plugin(const std::filesystem::path& given_path) {
  const std::string file_name = name_from_file(given_path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(given_path, ec)) {
    throw PluginError("plugin '" + file_name + "': " + given_path.string() +
                      " does not exist or is not a file; check the path, or build the plugin "
                      "(cmake --build build) and use --plugin-dir");
  }
  const auto path = std::filesystem::canonical(given_path, ec);
  if (ec) {
    throw PluginError("plugin '" + file_name + "' (" + given_path.string() +
                      "): cannot resolve the path: " + ec.message());
  }
  const std::string where = "plugin '" + file_name + "' (" + path.string() + ")";

  const std::string dlopen_hint =
      "check it is a shared library built for this machine and that its dependencies resolve "
      "(ldd " +
      path.string() + ")";
  const auto& d = checks::open_descriptor<PluginError>(path.string(), where, dlopen_hint);
  const auto facts = checks::read_facts<PluginError>(d, file_name, where);
  auto plugin = std::make_unique<LoadedPlugin>();
  plugin->name = facts.name;
  plugin->version = facts.version;
  plugin->torch_version = facts.torch_version;
  plugin->description = facts.description;
  plugin->path = path;
  plugin->descriptor = &d;
  plugin->options = option_schemas(d, where);
  try {
    plugin->sha256 = util::sha256_file(path);
  } catch (const std::exception& e) {
    throw PluginError(where + ": cannot hash the library: " + e.what());
  }
  return plugin;
}

}  // namespace attnlab::plugin
