// Internal: a config tree under construction (json plus the origin of every dotted key),
// dotted-path helpers, the recursive merge that composition is built from, and the size
// bound that keeps YAML aliases and interpolations from expanding without end.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attnlab/config/config.h"

namespace attnlab::config {

using json = nlohmann::json;
using Origins = std::map<std::string, Origin>;

inline const char* const kOverrideFile = "<override>";  // Origin::file of command-line values
inline const char* const kDefaultFile = "<default>";    // Origin::file of schema defaults

// An origin in `file` (line and column 1-based; 0 when unknown).
inline Origin origin_in(std::string file, int line = 0, int column = 0) {
  return Origin{std::move(file), line, column, ""};
}

// How big one YAML file (aliases expanded), one override value, or what interpolations add to
// a config may grow: far beyond any real config, small enough that an alias bomb fails in
// well under a second instead of exhausting memory.
inline constexpr size_t kMaxConfigValues = 1000000;          // maps, lists and scalars
inline constexpr size_t kMaxConfigBytes = size_t{64} << 20;  // text of keys and strings

// Counts values and text against kMaxConfigValues / kMaxConfigBytes.
class SizeBudget {
 public:
  // Counts `values` values holding `bytes` of text; false once either limit is passed.
  bool spend(size_t values, size_t bytes);
  // Counts every value and key inside `value`.
  bool spend(const json& value);
  // "1000000 values or 64 MiB of keys and strings", for messages.
  static std::string limits_text();

 private:
  size_t values_ = 0;
  size_t bytes_ = 0;
};

struct ConfigTree {
  json tree = json::object();
  Origins origins;  // dotted key ("model.d_model", list items "a.0") -> where it was written
};

std::vector<std::string> split_dotted(const std::string& dotted);  // "" -> {}
std::string join_dotted(const std::string& prefix, const std::string& key);
std::string parent_of(const std::string& dotted);  // "a.b.c" -> "a.b", "a" -> ""

// The node at `path` (list items by index), or nullptr.
const json* find_path(const json& tree, const std::vector<std::string>& path);
json* find_path(json& tree, const std::vector<std::string>& path);

// The origin of `dotted` or of its nearest ancestor that has one, else `fallback`.
Origin nearest_origin(const Origins& origins, const std::string& dotted, const Origin& fallback);

// Removes the origins of `dotted` and of every key below it.
void erase_origins(Origins& origins, const std::string& dotted);
// Copies the origins of `from` and below to `to` and below.
void copy_origins(const Origins& src, const std::string& from, Origins& dst, const std::string& to);

// Merges `src` into `dst` under the dotted `package` ("" = root): maps merge recursively,
// anything else replaces (and the replaced keys' origins go with it).
void merge_at(ConfigTree& dst, const ConfigTree& src, const std::string& package);

// Sets `value` at `dotted`, creating missing parent maps; `origin` becomes the origin of the
// key and of everything inside the value. Throws ConfigError if a parent is not a map.
void set_path(ConfigTree& cfg, const std::string& dotted, const json& value, const Origin& origin);

}  // namespace attnlab::config
