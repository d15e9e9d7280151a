// Groups an experiment's runs into arms, names the arms and resolves names to arms (see
// attnlab/reports/arms.h).
#include "attnlab/reports/arms.h"

#include <cstring>
#include <map>
#include <set>

#include "attnlab/config/identity.h"

namespace attnlab::reports {

namespace {

constexpr const char* kOptionsPrefix = "attention.options.";

// The value at a dotted key of a tree of objects; nullptr when absent.
const nlohmann::json* find_dotted(const nlohmann::json& tree, const std::string& dotted) {
  const nlohmann::json* node = &tree;
  for (size_t start = 0;;) {
    const size_t dot = dotted.find('.', start);
    const std::string part = dotted.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &node->at(part);
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
}

// " key=value" of one naming key. Short form: attention.options.X as X, strings unquoted, an
// absent key "unset". Exact form: the dotted key, the value as JSON, an absent key "(unset)".
std::string key_value(const Arm& arm, const std::string& key, bool exact) {
  const nlohmann::json* value = find_dotted(arm.identity, key);
  const bool option = key.rfind(kOptionsPrefix, 0) == 0;
  const std::string name = option && !exact ? key.substr(std::strlen(kOptionsPrefix)) : key;
  if (!value) return " " + name + (exact ? "=(unset)" : "=unset");
  return " " + name + "=" +
         (value->is_string() && !exact ? value->get<std::string>() : value->dump());
}

// The keys in which the arms of one plugin differ from each other.
std::set<std::string> varying_keys(const std::vector<Arm*>& group) {
  std::set<std::string> keys;
  for (const Arm* arm : group) {
    for (const auto& d : config::key_differences(group.front()->identity, arm->identity)) {
      keys.insert(d.key);
    }
  }
  return keys;
}

// The first name that two of `arms` share, "" when every name is unique.
std::string shared_name(const std::vector<Arm*>& arms) {
  std::set<std::string> seen;
  for (const Arm* arm : arms) {
    if (!seen.insert(arm->name).second) return arm->name;
  }
  return "";
}

// Names the arms of one plugin: short names, or exact ones when short names coincide.
void name_group(const std::string& plugin, const std::vector<Arm*>& group) {
  const auto keys = group.size() > 1 ? varying_keys(group) : std::set<std::string>{};
  for (const bool exact : {false, true}) {
    for (Arm* arm : group) {
      arm->name = plugin;
      for (const auto& key : keys) arm->name += key_value(*arm, key, exact);
    }
    if (shared_name(group).empty()) return;
  }
}

std::string quoted_names(const std::vector<const Arm*>& arms) {
  std::string out;
  for (const Arm* arm : arms) out += (out.empty() ? "'" : ", '") + arm->name + "'";
  return out;
}

}  // namespace

void group_into_arms(ExperimentData& data) {
  std::vector<size_t> arm_of;
  for (const auto& run : data.runs) {
    Arm arm{"", run.record.variant, config::arm_identity(run.config)};
    size_t i = 0;
    while (i < data.arms.size() &&
           (data.arms[i].plugin != arm.plugin || data.arms[i].identity != arm.identity)) {
      ++i;
    }
    if (i == data.arms.size()) data.arms.push_back(std::move(arm));
    arm_of.push_back(i);
  }
  std::map<std::string, std::vector<Arm*>> by_plugin;
  std::vector<Arm*> all;
  for (auto& arm : data.arms) {
    by_plugin[arm.plugin].push_back(&arm);
    all.push_back(&arm);
  }
  for (const auto& [plugin, group] : by_plugin) name_group(plugin, group);
  if (const std::string name = shared_name(all); !name.empty()) {
    throw ReportError("experiment '" + data.name + "': two arms are both named '" + name +
                      "': their configs differ only in a key whose name contains a '.' (or a "
                      "plugin name contains a space); rename that key or plugin");
  }
  for (size_t r = 0; r < data.runs.size(); ++r) data.runs[r].arm = data.arms[arm_of[r]].name;
}

std::string arm_list(const ExperimentData& data) {
  std::string out;
  for (const auto& name : data.arm_names()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

bool refers_to_arm(const ExperimentData& data, const std::string& reference) {
  for (const auto& arm : data.arms) {
    if (arm.name == reference || arm.plugin == reference) return true;
  }
  return false;
}

const Arm& resolve_arm(const ExperimentData& data, const std::string& reference,
                       const std::string& setting) {
  std::vector<const Arm*> all, of_plugin;
  for (const auto& arm : data.arms) {
    if (arm.name == reference) return arm;
    all.push_back(&arm);
    if (arm.plugin == reference) of_plugin.push_back(&arm);
  }
  if (of_plugin.size() == 1) return *of_plugin.front();
  const std::string where = "experiment '" + data.name + "': " + setting + " '" + reference + "'";
  if (of_plugin.empty()) {
    throw ReportError(where + " is not an arm or plugin of this experiment (arms: " +
                      (all.empty() ? "none" : quoted_names(all)) +
                      "); use one of these arm names or a plugin with one arm");
  }
  throw ReportError(where + " is ambiguous: plugin " + reference + " has " +
                    std::to_string(of_plugin.size()) + " arms (" + quoted_names(of_plugin) +
                    "); name one of them exactly, e.g. '" + of_plugin.front()->name + "'");
}

}  // namespace attnlab::reports
