// libFuzzer target: YAML loading and composition (core/config: yaml_loader, defaults lists,
// overrides in `matrix:`, interpolation, yaml_writer).
//
// Input: the experiment file, optionally followed by more files, each starting on a line
// "### <relative/path.yaml>" (config groups such as "model/tiny.yaml"). The files are written
// to a fresh folder and the experiment composed with that folder as the search path.
// Properties: compose_experiment throws nothing but ConfigError; every composed tree, written
// with to_yaml, reads back through the loader to the same tree (yaml_writer.h promises it).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "attnlab/config/config.h"
#include "attnlab/config/yaml_writer.h"
#include "fuzz_util.h"
#include "yaml_loader.h"

namespace fs = std::filesystem;
using namespace attnlab;

namespace {

// A path the splitter accepts: relative, [A-Za-z0-9_./-] only, no "..", ending in .yaml.
bool safe_relative_path(const std::string& path) {
  if (path.empty() || path.size() > 64 || path[0] == '/' || path.find("..") != std::string::npos) {
    return false;
  }
  for (char c : path) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '/' &&
        c != '-') {
      return false;
    }
  }
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".yaml") == 0;
}

// Whether `relative` can be written as a file under `dir`: no earlier file stands where one
// of its folders would go ("a.yaml" then "a.yaml/b.yaml") and no folder where it would go.
bool free_for_file(const fs::path& dir, const std::string& relative) {
  fs::path at = fuzz::scratch_dir() / dir;
  for (const auto& part : fs::path(relative)) {
    if (fs::is_regular_file(at)) return false;
    at /= part;
  }
  return !fs::is_directory(at);
}

// Writes the experiment and the "### path" files into `dir` (a path that is unsafe or collides
// with an earlier one is skipped); returns the experiment's path.
fs::path write_files(const std::string& input, const fs::path& dir) {
  std::string name = "experiment.yaml";
  std::string text;
  size_t pos = 0;
  auto flush = [&] {
    if (safe_relative_path(name) && free_for_file(dir, name)) {
      fuzz::write_scratch((dir / name).string(), text.data(), text.size());
    }
    text.clear();
  };
  while (pos < input.size()) {
    size_t end = input.find('\n', pos);
    end = end == std::string::npos ? input.size() : end + 1;
    const std::string line = input.substr(pos, end - pos);
    if (line.rfind("### ", 0) == 0) {
      flush();
      name = line.substr(4, line.find_last_not_of("\r\n") - 3);
    } else {
      text += line;
    }
    pos = end;
  }
  flush();
  return fuzz::scratch_dir() / dir / "experiment.yaml";
}

void check_round_trip(const nlohmann::json& tree) {
  const std::string yaml = config::to_yaml(tree);
  const auto file = fuzz::write_scratch("round_trip.yaml", yaml.data(), yaml.size());
  nlohmann::json back;
  try {
    back = config::load_yaml_file(file).tree;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "to_yaml output does not load: %s\n---\n%s---\n", e.what(), yaml.c_str());
    fuzz::require(false, "to_yaml output reads back through the loader");
  }
  if (!fuzz::same_json(back, tree)) {
    std::fprintf(stderr, "tree:  %s\nback:  %s\nyaml:\n%s", tree.dump().c_str(),
                 back.dump().c_str(), yaml.c_str());
    fuzz::require(false, "to_yaml output reads back to the same tree");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path dir = "compose";
  fs::remove_all(fuzz::scratch_dir() / dir);
  const fs::path experiment =
      write_files(std::string(reinterpret_cast<const char*>(data), size), dir);
  if (!fs::exists(experiment)) return 0;
  config::ComposeOptions options;
  options.search_path.push_back(experiment.parent_path());
  std::vector<config::ResolvedConfig> cells;
  try {
    cells = config::compose_experiment(experiment, {}, options);
  } catch (const config::ConfigError&) {
    return 0;  // rejected with the documented error: fine
  }
  for (const auto& cell : cells) {
    if (!cell.tree.empty()) check_round_trip(cell.tree);
  }
  return 0;
}
