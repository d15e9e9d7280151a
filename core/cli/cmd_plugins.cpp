// attnlab plugins list|show: the attention plugins in the plugin directory, their versions,
// descriptions and options (type, default, range, choices, description).
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include "attnlab/plugin/registry.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {
namespace {

const char* kUsage =
    "list|show [NAME] [--plugin-dir DIR]\n\n"
    "  list        every plugin in the plugin directory with its options\n"
    "  show NAME   one plugin in detail (path, SHA-256, LibTorch version, options)";

std::string range_str(const config::KeySchema& option) {
  if (option.type != config::ValueType::Int && option.type != config::ValueType::Float) return "";
  const auto bound = [](double x) {
    if (std::isinf(x)) return std::string(x < 0 ? "-inf" : "inf");
    std::ostringstream out;
    out << std::setprecision(10) << x;
    return out.str();
  };
  return "[" + bound(option.min) + ", " + bound(option.max) + "]";
}

void print_options(const plugin::LoadedPlugin& plugin) {
  if (plugin.options.empty()) {
    std::cout << "    (no options)\n";
    return;
  }
  for (const auto& option : plugin.options) {
    std::cout << "    " << std::left << std::setw(22) << option.key << std::setw(7)
              << config::to_string(option.type) << "default " << std::setw(7)
              << option.default_value.dump();
    if (const auto range = range_str(option); !range.empty()) std::cout << "  range " << range;
    if (!option.choices.empty()) {
      std::cout << "  one of";
      for (const auto& choice : option.choices) std::cout << " " << choice;
    }
    std::cout << "\n      " << option.description << "\n";
  }
}

int list(plugin::PluginRegistry& registry) {
  const auto names = registry.available();
  std::cout << names.size() << " plugin(s) in " << registry.plugin_dir().string() << "\n";
  int failures = 0;
  for (const auto& name : names) {
    try {
      const auto& plugin = registry.load(name);
      std::cout << "\n"
                << plugin.name << " " << plugin.version << ": " << plugin.description << "\n";
      print_options(plugin);
    } catch (const plugin::PluginError& e) {
      std::cout << "\n" << name << ": cannot be loaded: " << e.what() << "\n";
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}

int show(plugin::PluginRegistry& registry, const std::string& name) {
  const auto& plugin = registry.load(name);
  std::cout << plugin.name << " " << plugin.version << ": " << plugin.description << "\n"
            << "  path    " << plugin.path.string() << "\n"
            << "  sha256  " << plugin.sha256 << "\n"
            << "  built   LibTorch " << plugin.descriptor->torch_version
            << ", _GLIBCXX_USE_CXX11_ABI=" << plugin.descriptor->cxx11_abi << ", plugin ABI "
            << plugin.descriptor->abi_version << "\n"
            << "  options (attention.options.<key>):\n";
  print_options(plugin);
  return 0;
}

}  // namespace

int cmd_plugins(const Args& args) {
  po::options_description options("plugins options");
  options.add_options()("plugin-dir", po::value<std::string>(),
                        "directory of libattnlab_<name>.so (default: ATTNLAB_PLUGIN_DIR, else "
                        "<attnlab's directory>/plugins)");
  const auto parsed = parse_args("plugins", kUsage, options, args, "words");
  if (parsed.help) return 0;
  plugin::PluginRegistry registry(
      parsed.vm.count("plugin-dir")
          ? std::filesystem::path(parsed.vm["plugin-dir"].as<std::string>())
          : default_plugin_dir());
  const auto& words = parsed.positional;
  if (words.empty()) throw UsageError("expected a subcommand: list or show NAME");
  if (words[0] == "list" && words.size() == 1) return list(registry);
  if (words[0] == "show" && words.size() == 2) return show(registry, words[1]);
  if (words[0] == "show") throw UsageError("'plugins show' takes exactly one plugin name");
  if (words[0] == "list")
    throw UsageError("'plugins list' takes no arguments, got '" + words[1] + "'");
  throw UsageError("unknown subcommand '" + words[0] + "'; expected list or show NAME");
}

}  // namespace attnlab::cli
