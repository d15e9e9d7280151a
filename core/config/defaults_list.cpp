// Defaults-list composition: walks the primary config's defaults (and those of every config it
// pulls in) in order, merging each config under its group's key.
#include "defaults_list.h"

#include <algorithm>

#include "suggest.h"
#include "yaml_loader.h"

namespace attnlab::config {

namespace fs = std::filesystem;

struct DefaultsComposer::Entry {
  enum Type { Self, Group, Config } type = Self;
  std::string group;                  // Group: absolute group path; Config: the including group
  std::optional<std::string> option;  // Group: the option (nullopt: none); Config: its name
  bool optional = false;
  bool is_override = false;  // `override group: option`: registered as a choice, not composed
  bool appended = false;     // added by +group=option / ++group=option
  bool must_be_new = false;  // +group=option: the group must not be chosen yet
  Origin origin;
};

namespace {

std::string package_of(const std::string& group) {
  std::string package = group;
  std::replace(package.begin(), package.end(), '/', '.');
  return package;
}

std::string entry_text(const std::string& group, const std::optional<std::string>& option) {
  return group + ": " + option.value_or("null");
}

}  // namespace

const ConfigTree& ConfigFileCache::load(const fs::path& file) {
  auto it = files_.find(file);
  if (it == files_.end()) it = files_.emplace(file, load_yaml_file(file)).first;
  return it->second;
}

DefaultsComposer::DefaultsComposer(std::vector<fs::path> search_dirs, ConfigFileCache& cache)
    : search_dirs_(std::move(search_dirs)), cache_(cache) {}

bool DefaultsComposer::is_group(const std::string& key) const {
  if (key.empty() || key.find('.') != std::string::npos) return false;
  for (const auto& dir : search_dirs_) {
    std::error_code ec;
    if (fs::is_directory(dir / key, ec)) return true;
  }
  return false;
}

std::vector<std::string> DefaultsComposer::options_of(const std::string& group) const {
  std::set<std::string> options;
  for (const auto& dir : search_dirs_) {
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir / group, ec)) {
      if (f.path().extension() == ".yaml") options.insert(f.path().stem().string());
    }
  }
  return {options.begin(), options.end()};
}

std::vector<std::string> DefaultsComposer::all_groups() const {
  std::set<std::string> groups;
  for (const auto& dir : search_dirs_) {
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir, ec)) {
      if (f.is_directory()) groups.insert(f.path().filename().string());
    }
  }
  return {groups.begin(), groups.end()};
}

fs::path DefaultsComposer::find_option(const std::string& group, const std::string& option,
                                       const Origin& origin, bool optional) const {
  for (const auto& dir : search_dirs_) {
    const fs::path file = dir / group / (option + ".yaml");
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) return file;
  }
  if (optional) return {};
  std::string dirs;
  for (const auto& dir : search_dirs_) dirs += (dirs.empty() ? "" : ", ") + dir.string();
  if (group.empty()) {
    throw ConfigError("", origin, "no config '" + option + ".yaml' in " + dirs);
  }
  const auto options = options_of(group);
  if (options.empty() && !is_group(group)) {
    const auto groups = all_groups();
    throw ConfigError(package_of(group), origin,
                      "unknown config group '" + group + "' (no folder " + group + "/ in " + dirs +
                          ")" + did_you_mean(group, groups) + "; groups: " + join_list(groups));
  }
  throw ConfigError(package_of(group), origin,
                    "no option '" + option + "' in config group '" + group + "'" +
                        did_you_mean(option, options) + "; available: " + join_list(options));
}

std::vector<DefaultsComposer::Entry> DefaultsComposer::parse_entries(
    const ConfigTree& cfg, const std::string& group) const {
  std::vector<Entry> entries;
  const auto it = cfg.tree.find("defaults");
  if (it == cfg.tree.end()) return entries;
  const Origin list_origin = nearest_origin(cfg.origins, "defaults", Origin{});
  if (!it->is_array()) {
    throw ConfigError("defaults", list_origin, "must be a list such as '- model: tiny'");
  }
  bool has_self = false;
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& item = (*it)[i];
    const std::string key = "defaults." + std::to_string(i);
    Entry e;
    e.origin = nearest_origin(cfg.origins, key, list_origin);
    if (item.is_string() && item == "_self_") {
      if (has_self) throw ConfigError(key, e.origin, "_self_ appears twice; keep one");
      has_self = true;
      entries.push_back(e);
      continue;
    }
    if (item.is_string()) {
      e.type = Entry::Config;
      e.group = group;
      e.option = item.get<std::string>();
      entries.push_back(e);
      continue;
    }
    if (!item.is_object() || item.size() != 1) {
      throw ConfigError(key, e.origin,
                        "bad defaults entry " + item.dump() +
                            ": expected '- group: option', '- override group: option', "
                            "'- optional group: option' or '- _self_'");
    }
    std::string spec = item.begin().key();
    const nlohmann::json& option = item.begin().value();
    for (const auto& [word, flag] :
         {std::pair{"override ", &e.is_override}, {"optional ", &e.optional}}) {
      if (spec.rfind(word, 0) == 0) {
        *flag = true;
        spec = spec.substr(std::string(word).size());
      }
    }
    if (spec.find('@') != std::string::npos) {
      throw ConfigError(key, e.origin,
                        "package overrides ('" + spec +
                            "') are not supported; a group's content "
                            "always goes under the group's key");
    }
    if (spec.empty() || spec.find(' ') != std::string::npos) {
      throw ConfigError(key, e.origin, "bad group name '" + spec + "' in defaults entry");
    }
    e.type = Entry::Group;
    e.group = spec.front() == '/' ? spec.substr(1) : (group.empty() ? spec : group + "/" + spec);
    if (option.is_string()) {
      e.option = option.get<std::string>();
    } else if (!option.is_null()) {
      throw ConfigError(
          key, e.origin,
          "the option of group '" + e.group + "' must be a name, got " + option.dump());
    }
    entries.push_back(e);
  }
  return entries;
}

ConfigTree DefaultsComposer::compose(const fs::path& primary,
                                     const std::vector<GroupOverride>& groups) {
  for (const auto& g : groups) {
    if (g.kind == OverrideKind::Add || g.kind == OverrideKind::AddOrReplace) appended_.push_back(g);
    if (g.kind != OverrideKind::Add) choices_[g.group] = Choice{g};
  }
  process(primary, "", true);
  for (const auto& [group, choice] : choices_) {
    if (choice.consumed) continue;
    const auto& src = choice.source;
    if (choice.from_defaults) {
      throw ConfigError(package_of(group), src.origin,
                        "'override " + entry_text(group, src.option) +
                            "': no defaults list chooses group '" + group +
                            "'; drop 'override' to add the group");
    }
    if (src.kind == OverrideKind::Delete) {
      throw ConfigError(package_of(group), src.origin,
                        "cannot drop config group '" + group + "': no defaults list chooses it");
    }
    throw ConfigError(package_of(group), src.origin,
                      "cannot switch config group '" + group +
                          "': no defaults list chooses it; to add it use +" + group + "=" +
                          src.option.value_or("null"));
  }
  result_.origins.erase("");
  return std::move(result_);
}

void DefaultsComposer::process(const fs::path& file, const std::string& group, bool primary) {
  if (std::find(stack_.begin(), stack_.end(), file) != stack_.end()) {
    throw ConfigError("defaults", origin_in(file.string()),
                      "defaults lists include each other in a cycle through " + file.string());
  }
  const ConfigTree& cfg = cache_.load(file);
  std::vector<Entry> entries = parse_entries(cfg, group);
  for (const auto& e : entries) {
    if (e.is_override && !choices_.count(e.group)) {
      choices_[e.group] =
          Choice{GroupOverride{OverrideKind::Set, e.group, e.option, e.origin}, true};
    }
  }
  if (primary) {  // +group=option entries go at the end of the primary list, as in Hydra
    for (const auto& g : appended_) {
      Entry e;
      e.type = Entry::Group;
      e.group = g.group;
      e.option = g.option;
      e.origin = g.origin;
      e.appended = true;
      e.must_be_new = g.kind == OverrideKind::Add;
      entries.push_back(e);
    }
  }
  if (std::none_of(entries.begin(), entries.end(),
                   [](const Entry& e) { return e.type == Entry::Self; })) {
    entries.push_back(Entry{});
  }

  stack_.push_back(file);
  for (const auto& e : entries) {
    if (e.type == Entry::Self) {
      ConfigTree own = cfg;
      own.tree.erase("defaults");
      erase_origins(own.origins, "defaults");
      if (primary) {
        own.tree.erase("matrix");
        erase_origins(own.origins, "matrix");
      }
      merge_at(result_, own, package_of(group));
    } else if (e.type == Entry::Config) {
      const fs::path child = find_option(group, *e.option, e.origin, false);
      process(child, group, false);
    } else if (!e.is_override) {
      process_group(e);
    }
  }
  stack_.pop_back();
}

void DefaultsComposer::process_group(const Entry& entry) {
  std::optional<std::string> option = entry.option;
  Origin chosen_by = entry.origin;  // where the option in use was written
  if (auto it = choices_.find(entry.group); it != choices_.end() && !entry.must_be_new) {
    Choice& choice = it->second;
    if (entry.appended && choice.consumed) return;  // ++group=option switched an existing entry
    choice.consumed = true;
    if (choice.source.kind == OverrideKind::Delete && choice.source.option &&
        choice.source.option != option) {
      throw ConfigError(package_of(entry.group), choice.source.origin,
                        "cannot drop '" + entry.group + "=" + *choice.source.option +
                            "': the group's option is " + option.value_or("null"));
    }
    option = choice.source.kind == OverrideKind::Delete ? std::nullopt : choice.source.option;
    chosen_by = choice.source.origin;
  }
  if (auto it = chosen_.find(entry.group); it != chosen_.end()) {
    const std::string hint =
        entry.must_be_new ? "; to switch it use " + entry.group + "=" + option.value_or("null")
                          : "; keep one entry";
    throw ConfigError(package_of(entry.group), entry.origin,
                      "config group '" + entry.group + "' is already chosen (at " +
                          it->second.str() + ")" + hint);
  }
  chosen_[entry.group] = entry.origin;
  if (!option) return;
  const fs::path file = find_option(entry.group, *option, chosen_by, entry.optional);
  if (file.empty()) return;
  process(file, entry.group, false);
}

}  // namespace attnlab::config
