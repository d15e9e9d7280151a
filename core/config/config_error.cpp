// Origin and ConfigError (how every config problem is reported) and ResolvedConfig's
// dotted-key accessors.
#include "attnlab/config/config.h"
#include "config_tree.h"
#include "scalar.h"

namespace attnlab::config {

std::string Origin::str() const {
  if (file == kOverrideFile) return "override '" + escape_control_chars(detail) + "'";
  if (line > 0) {
    std::string s = file + ":" + std::to_string(line);
    if (column > 0) s += ":" + std::to_string(column);
    return s;
  }
  if (file == kDefaultFile) return detail.empty() ? "schema default" : "default of " + detail;
  if (!file.empty()) return file;
  return "<unknown origin>";
}

// One line whatever the input held: control characters and broken UTF-8 as escapes.
static std::string error_line(const std::string& key, const Origin& origin,
                              const std::string& message) {
  std::string s = origin.str() + ": ";
  if (!key.empty()) s += key + ": ";
  return escape_control_chars(s + message);
}

ConfigError::ConfigError(std::string key, Origin origin, std::string message)
    : std::runtime_error(error_line(key, origin, message)),
      key_(std::move(key)),
      origin_(std::move(origin)),
      message_(std::move(message)) {}

const nlohmann::json& ResolvedConfig::at(const std::string& dotted_key) const {
  const nlohmann::json* node = find_path(tree, split_dotted(dotted_key));
  if (!node) throw ConfigError(dotted_key, origin_of(dotted_key), "no such key in the config");
  return *node;
}

Origin ResolvedConfig::origin_of(const std::string& dotted_key) const {
  return nearest_origin(origins, dotted_key, origin_in(source_file.string()));
}

}  // namespace attnlab::config
