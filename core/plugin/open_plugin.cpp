// Opening a plugin library and the ordered checks on its descriptor (see registry.h).
#include "open_plugin.h"

#include <dlfcn.h>
#include <torch/version.h>

#include <string>

#include "attnlab/util/sha256.h"
#include "option_specs.h"

namespace attnlab::plugin {
namespace {

constexpr const char* kPrefix = "libattnlab_";
constexpr const char* kSuffix = ".so";
// A v1 plugin's vtable lacks v2's virtuals (calling one would run past its end): refused.
constexpr const char* kFromV1 =
    " (ABI 1 predates interface v2, whose AttentionVariant adds aux_loss, statistics, decoding "
    "and parameter groups; the source needs no change)";
constexpr const char* kRebuild = "; rebuild the plugin against this attnlab (cmake --build build)";

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
  const auto path = std::filesystem::canonical(given_path);
  const std::string where = "plugin '" + file_name + "' (" + path.string() + ")";

  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // never dlclose'd
  if (!handle) {
    const char* why = dlerror();
    throw PluginError(where + ": dlopen failed: " + (why ? why : "unknown error") +
                      "; check it is a shared library built for this machine and that its "
                      "dependencies resolve (ldd " +
                      path.string() + ")");
  }
  dlerror();
  void* symbol = dlsym(handle, ATTNLAB_PLUGIN_ENTRY_SYMBOL);
  if (!symbol) {
    throw PluginError(where + ": no entry symbol '" ATTNLAB_PLUGIN_ENTRY_SYMBOL
                              "'; a plugin must export it as extern \"C\" (see docs/PLUGINS.md)");
  }
  const auto* d = reinterpret_cast<attnlab_plugin_entry_fn>(symbol)();
  if (!d)
    throw PluginError(where + ": " ATTNLAB_PLUGIN_ENTRY_SYMBOL
                              "() returned NULL; it must return its static descriptor");
  if (d->abi_version != ATTNLAB_PLUGIN_ABI_VERSION) {
    throw PluginError(where + ": built for plugin ABI version " + std::to_string(d->abi_version) +
                      ", this attnlab expects " + std::to_string(ATTNLAB_PLUGIN_ABI_VERSION) +
                      (d->abi_version == 1 ? kFromV1 : "") + kRebuild);
  }
  if (d->struct_size != sizeof(attnlab_plugin_descriptor)) {
    throw PluginError(where + ": descriptor struct_size is " + std::to_string(d->struct_size) +
                      " bytes, this attnlab's is " +
                      std::to_string(sizeof(attnlab_plugin_descriptor)) +
                      " (same ABI version, different header)" + kRebuild);
  }
  if (!d->name || !d->version || !d->torch_version || !d->create || !d->destroy ||
      (d->n_options > 0 && !d->options)) {
    throw PluginError(where +
                      ": descriptor has a NULL name, version, torch_version, create, destroy "
                      "or options; fill every field (see docs/PLUGINS.md)");
  }
  if (std::string(d->torch_version) != TORCH_VERSION || d->cxx11_abi != _GLIBCXX_USE_CXX11_ABI) {
    throw PluginError(where + ": built against LibTorch " + d->torch_version +
                      " with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(d->cxx11_abi) +
                      ", this attnlab runs LibTorch " TORCH_VERSION
                      " with _GLIBCXX_USE_CXX11_ABI=" +
                      std::to_string(_GLIBCXX_USE_CXX11_ABI) + kRebuild);
  }
  if (file_name != d->name) {
    throw PluginError(where + ": the descriptor's name is '" + d->name + "' but the file says '" +
                      file_name + "'; rename the file to " + kPrefix + d->name + kSuffix +
                      " or fix the name in the descriptor");
  }

  auto plugin = std::make_unique<LoadedPlugin>();
  plugin->name = d->name;
  plugin->version = d->version;
  plugin->description = d->description ? d->description : "";
  plugin->path = path;
  plugin->descriptor = d;
  plugin->options = option_schemas(*d, where);
  plugin->sha256 = util::sha256_file(path);
  return plugin;
}

}  // namespace attnlab::plugin
