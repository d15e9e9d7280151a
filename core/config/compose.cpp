// compose_experiment: matrix cells from sweeps, then per cell the defaults lists, value
// overrides and interpolation; and resolve_experiment_path for experiments given by name.
#include <algorithm>
#include <set>

#include "attnlab/config/config.h"
#include "attnlab/config/schema.h"
#include "attnlab/config/yaml_writer.h"
#include "defaults_list.h"
#include "interpolation.h"
#include "matrix.h"
#include "suggest.h"

namespace attnlab::config {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> search_dirs_for(const fs::path& experiment, const ComposeOptions& options) {
  std::vector<fs::path> dirs{experiment.parent_path().empty() ? fs::path(".")
                                                              : experiment.parent_path()};
  for (const auto& dir : options.search_path) {
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  }
  return dirs;
}

// Throws when `dir`, given as the experiment, is a directory, naming .yaml files in it.
void reject_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    if (f.is_regular_file(ec) && f.path().extension() == ".yaml")
      files.push_back(f.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.size() > 3) {
    files.resize(3);
    files.push_back("...");
  }
  throw ConfigError("", origin_in(dir.string()),
                    dir.string() + " is a directory; give an experiment file (a .yaml path" +
                        (files.empty() ? "" : " such as " + join_list(files)) +
                        ") or an experiment name");
}

GroupOverride to_group_override(const Override& o) {
  GroupOverride g{o.kind, o.key, std::nullopt, o.origin};
  if (o.values.empty()) return g;
  const nlohmann::json& v = o.values[0].value;
  if (v.is_string()) {
    g.option = v.get<std::string>();
  } else if (v.is_number_integer()) {
    g.option = v.dump();
  } else if (!v.is_null()) {
    throw ConfigError(
        o.key, o.origin,
        "'" + o.key + "' is a config group: its value must be an option name, got " + v.dump());
  }
  return g;
}

// "; did you mean 'x'?" for the first segment of `dotted` that the tree lacks.
std::string suggest_key(const nlohmann::json& tree, const std::string& dotted) {
  const nlohmann::json* node = &tree;
  std::string prefix;
  for (const auto& part : split_dotted(dotted)) {
    if (!node->is_object()) return "";
    if (!node->contains(part)) {
      std::vector<std::string> keys;
      for (const auto& item : node->items()) keys.push_back(join_dotted(prefix, item.key()));
      return did_you_mean(join_dotted(prefix, part), keys);
    }
    prefix = join_dotted(prefix, part);
    node = &(*node)[part];
  }
  return "";
}

// Throws when a parent of `o.key` holds a value that is not a map (seed.x=1 with seed: 0).
void check_parents_are_maps(const ConfigTree& cfg, const Override& o) {
  const auto path = split_dotted(o.key);
  const nlohmann::json* node = &cfg.tree;
  std::string key;
  for (size_t i = 0; i + 1 < path.size() && node; ++i) {
    key = join_dotted(key, path[i]);
    node = node->is_object() && node->contains(path[i]) ? &(*node)[path[i]] : nullptr;
    if (node && !node->is_object()) {
      throw ConfigError(key, o.origin,
                        "is a " + std::string(node->type_name()) + " (" + to_flow_yaml(*node) +
                            "), not a map, so it has no key '" + path[i + 1] + "'");
    }
  }
}

void apply_value_override(ConfigTree& cfg, const Override& o, const ComposeOptions& options,
                          const fs::path& experiment_file) {
  check_parents_are_maps(cfg, o);
  const nlohmann::json* current = find_path(cfg.tree, split_dotted(o.key));
  const OverrideValue* value = o.values.empty() ? nullptr : &o.values[0];
  const std::string value_text = value ? value->text : "VALUE";
  switch (o.kind) {
    case OverrideKind::Set:
      if (!current) {
        bool declared = false;
        if (options.schema) {
          ResolvedConfig partial;
          partial.tree = cfg.tree;
          partial.source_file = experiment_file;
          declared = options.schema->declares(o.key, partial);
        }
        if (!declared) {
          throw ConfigError(o.key, o.origin,
                            "no such key in the config" + suggest_key(cfg.tree, o.key) +
                                "; to add a new key use +" + o.key + "=" + value_text);
        }
      }
      break;
    case OverrideKind::Add:
      if (current) {
        throw ConfigError(o.key, o.origin,
                          "already in the config (" +
                              nearest_origin(cfg.origins, o.key, Origin{}).str() +
                              "); to replace it use " + o.key + "=" + value_text + " or ++" +
                              o.key + "=" + value_text);
      }
      break;
    case OverrideKind::AddOrReplace:
      break;
    case OverrideKind::Delete: {
      if (!current) {
        throw ConfigError(
            o.key, o.origin,
            "cannot delete: no such key in the config" + suggest_key(cfg.tree, o.key));
      }
      if (value && *current != value->value) {
        throw ConfigError(
            o.key, o.origin,
            "cannot delete: its value is " + to_flow_yaml(*current) + ", not " + value->text);
      }
      nlohmann::json* parent = find_path(cfg.tree, split_dotted(parent_of(o.key)));
      if (parent->is_array()) {
        throw ConfigError(o.key, o.origin, "cannot delete a list item; set the whole list instead");
      }
      parent->erase(split_dotted(o.key).back());
      erase_origins(cfg.origins, o.key);
      return;
    }
  }
  set_path(cfg, o.key, value->value, o.origin);
}

std::string experiment_name(const ConfigTree& cfg, const fs::path& file) {
  const nlohmann::json* name = find_path(cfg.tree, {"experiment", "name"});
  if (!name || name->is_null()) return file.stem().string();
  if (!name->is_string() || name->get<std::string>().empty()) {
    throw ConfigError("experiment.name",
                      nearest_origin(cfg.origins, "experiment.name", origin_in(file.string())),
                      "must be a non-empty string, got " + name->dump());
  }
  return name->get<std::string>();
}

}  // namespace

std::vector<ResolvedConfig> compose_experiment(const fs::path& experiment_file,
                                               const std::vector<std::string>& overrides,
                                               const ComposeOptions& options) {
  std::error_code ec;
  reject_directory(experiment_file);
  if (!fs::is_regular_file(experiment_file, ec)) {
    throw ConfigError("", origin_in(experiment_file.string()),
                      fs::exists(experiment_file, ec)
                          ? "not a regular file (a device or a pipe?); give a .yaml file"
                          : "experiment file not found; give a path or a name from the config "
                            "directory");
  }
  const auto search_dirs = search_dirs_for(experiment_file, options);
  ConfigFileCache cache;
  const std::vector<Override> matrix = parse_matrix_block(cache.load(experiment_file));
  std::vector<Override> command_line;
  for (const auto& text : overrides) {
    command_line.push_back(parse_override(text, Origin{kOverrideFile, 0, 0, text}));
  }

  std::vector<ResolvedConfig> configs;
  for (const Cell& cell : expand_cells(matrix, command_line)) {
    DefaultsComposer composer(search_dirs, cache);
    std::vector<GroupOverride> groups;
    std::vector<const Override*> values;
    for (const auto& o : cell.overrides) {
      if (composer.is_group(o.key)) {
        groups.push_back(to_group_override(o));
      } else {
        values.push_back(&o);
      }
    }
    ConfigTree cfg = composer.compose(experiment_file, groups);
    for (const Override* o : values) apply_value_override(cfg, *o, options, experiment_file);
    cfg.origins[""] = origin_in(experiment_file.string());
    resolve_interpolations(cfg);
    cfg.origins.erase("");

    ResolvedConfig resolved;
    resolved.experiment = experiment_name(cfg, experiment_file);
    resolved.tree = std::move(cfg.tree);
    resolved.origins = std::move(cfg.origins);
    resolved.overrides = cell.texts;
    resolved.cell_name = cell.name;
    for (const auto& m : matrix) resolved.matrix_keys.push_back(m.key);
    resolved.source_file = experiment_file;
    configs.push_back(std::move(resolved));
  }
  return configs;
}

fs::path resolve_experiment_path(const std::string& name_or_path, const ComposeOptions& options) {
  std::error_code ec;
  const fs::path given(name_or_path);
  if (fs::is_regular_file(given, ec)) return given;
  const bool bare_name = given.filename() == given && given.extension().empty();
  if (bare_name) {
    for (const auto& dir : options.search_path) {
      const fs::path file = dir / (name_or_path + ".yaml");
      if (fs::is_regular_file(file, ec)) return file;
    }
  }
  reject_directory(given);
  std::set<std::string> known;
  std::string dirs;
  for (const auto& dir : options.search_path) {
    dirs += (dirs.empty() ? "" : ", ") + dir.string();
    for (const auto& f : fs::directory_iterator(dir, ec)) {
      if (f.is_regular_file() && f.path().extension() == ".yaml")
        known.insert(f.path().stem().string());
    }
  }
  const std::vector<std::string> names(known.begin(), known.end());
  throw ConfigError("", origin_in(name_or_path),
                    bare_name ? "no experiment '" + name_or_path + "' in " +
                                    (dirs.empty() ? "(no config dir)" : dirs) +
                                    did_you_mean(name_or_path, names) +
                                    (names.empty() ? "" : "; experiments: " + join_list(names))
                              : "experiment file not found; check the path");
}

}  // namespace attnlab::config
