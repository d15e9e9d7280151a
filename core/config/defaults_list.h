// Internal: Hydra-style defaults lists. A config's `defaults:` chooses one option per config
// group (<search dir>/<group>/<option>.yaml, content placed under the group's key), may name
// other configs of its own group, and orders its own content with `_self_` (last when absent).
//   - model: tiny                 group option           - optional x: y   skip when missing
//   - override /attention: dense  switch a group chosen anywhere in the tree
//   - /data: x                    absolute group (from a group file)
//   - base                        another config of the same group, merged at the same place
//   - model: null                 no option for this group
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config_tree.h"
#include "override_parser.h"

namespace attnlab::config {

// A command-line or matrix override that names a config group (attention=gated_window).
struct GroupOverride {
  OverrideKind kind = OverrideKind::Set;
  std::string group;                  // "attention", nested groups with '/'
  std::optional<std::string> option;  // nullopt: no option (group=null, or ~group)
  Origin origin;
};

// Loaded config files, parsed once per compose_experiment call.
class ConfigFileCache {
 public:
  const ConfigTree& load(const std::filesystem::path& file);

 private:
  std::map<std::filesystem::path, ConfigTree> files_;
};

class DefaultsComposer {
 public:
  DefaultsComposer(std::vector<std::filesystem::path> search_dirs, ConfigFileCache& cache);

  // Whether `key` names a config group (a folder <dir>/<key> in the search path).
  bool is_group(const std::string& key) const;

  // The primary config composed with its defaults lists, group overrides applied; the result
  // holds neither `defaults` nor `matrix`. Throws ConfigError.
  ConfigTree compose(const std::filesystem::path& primary,
                     const std::vector<GroupOverride>& groups);

 private:
  struct Entry;
  struct Choice {
    GroupOverride source;
    bool from_defaults = false;  // an `override` entry of a defaults list
    bool consumed = false;
  };

  std::vector<Entry> parse_entries(const ConfigTree& cfg, const std::string& group) const;
  void process(const std::filesystem::path& file, const std::string& group, bool primary);
  void process_group(const Entry& entry);
  std::filesystem::path find_option(const std::string& group, const std::string& option,
                                    const Origin& origin, bool optional) const;
  std::vector<std::string> options_of(const std::string& group) const;
  std::vector<std::string> all_groups() const;

  std::vector<std::filesystem::path> search_dirs_;
  ConfigFileCache& cache_;
  std::map<std::string, Choice> choices_;     // group -> the option to use instead
  std::vector<GroupOverride> appended_;       // +group=option / ++group=option
  std::map<std::string, Origin> chosen_;      // groups composed so far -> where chosen
  std::vector<std::filesystem::path> stack_;  // files being composed (cycle detection)
  ConfigTree result_;
};

}  // namespace attnlab::config
