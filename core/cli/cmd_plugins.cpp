// attnlab plugins list|show: the attention plugins in the plugin directory, their versions,
// descriptions and options (type, default, range, choices, description); broken plugins are
// listed with their errors and make the exit status 1.
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
    "list|show [NAME|PATH] [--plugin-dir DIR]\n\n"
    "  list             every plugin in the plugin directory with its options; one that\n"
    "                   cannot be loaded is listed as BROKEN with its error, and the others\n"
    "                   still follow\n"
    "  show NAME|PATH   one plugin in detail (path, SHA-256, LibTorch version, options): a\n"
    "                   word with a '/' or ending in .so is a library path, used as given;\n"
    "                   any other word is a plugin name, looked up in the plugin directory\n\n"
    "exit status: 0 when every plugin listed or shown loads; 1 when one cannot (list names\n"
    "the broken ones on stderr) or the plugin directory is not a directory; 2 on a usage "
    "error";

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

void print_header(const plugin::LoadedPlugin& plugin) {
  std::cout << plugin.name << " " << plugin.version << ": " << plugin.description << "\n";
}

int list(plugin::PluginRegistry& registry) {
  const auto statuses = registry.load_all();
  std::cout << statuses.size() << " plugin(s) in " << registry.plugin_dir().string() << "\n";
  std::string broken;
  int n_broken = 0;
  for (const auto& status : statuses) {
    std::cout << "\n";
    if (status.plugin) {
      print_header(*status.plugin);
      print_options(*status.plugin);
      continue;
    }
    std::cout << status.name << ": BROKEN: " << status.error << "\n";
    broken += (broken.empty() ? "" : ", ") + status.name;
    ++n_broken;
  }
  if (n_broken == 0) return 0;
  std::cerr << "attnlab plugins: " << n_broken << " of " << statuses.size()
            << " plugin(s) cannot be loaded: " << broken << " (their errors are listed above)\n";
  return 1;
}

int show(plugin::PluginRegistry& registry, const std::string& name_or_path) {
  const auto& plugin = registry.load_name_or_path(name_or_path);
  print_header(plugin);
  std::cout << "  path    " << plugin.path.string() << "\n"
            << "  sha256  " << plugin.sha256 << "\n"
            << "  built   LibTorch " << plugin.torch_version
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
  if (words.empty()) throw UsageError("expected a subcommand: list or show NAME|PATH");
  if (words[0] == "list" && words.size() == 1) return list(registry);
  if (words[0] == "show" && words.size() == 2) return show(registry, words[1]);
  if (words[0] == "show") {
    throw UsageError("'plugins show' takes exactly one plugin name or library path");
  }
  if (words[0] == "list")
    throw UsageError("'plugins list' takes no arguments, got '" + words[1] + "'");
  throw UsageError("unknown subcommand '" + words[0] + "'; expected list or show NAME|PATH");
}

}  // namespace attnlab::cli
