// Internal to the loader: dlopen one plugin library and run the ordered checks on it.
#pragma once
#include <filesystem>
#include <memory>

#include "attnlab/plugin/registry.h"

namespace attnlab::plugin {

// The name a plugin file implies: "libattnlab_<name>.so" -> "<name>", else the file name.
std::string name_from_file(const std::filesystem::path& path);

// Opens and checks the library at `path` (see registry.h for the order of the checks).
// Throws PluginError on the first failing check.
std::unique_ptr<LoadedPlugin> open_plugin(const std::filesystem::path& path);

}  // namespace attnlab::plugin
