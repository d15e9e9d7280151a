// Internal: the override grammar shared by the command line and the `matrix:` block.
//   key=value    set an existing key (or switch a config group: attention=gated_window)
//   +key=value   add a key that does not exist yet (or add a config group)
//   ++key=value  add or replace
//   ~key         delete a key (or drop a config group); ~key=value only if it has that value
// Values are YAML scalars or flow collections ([1, 2], {a: 1}); 'a,b' and "a,b" are quoted
// strings. Sweeps: a=1,2,3   a=range(start,stop[,step])   a=choice(x,y).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attnlab/config/config.h"

namespace attnlab::config {

enum class OverrideKind { Set, Add, AddOrReplace, Delete };

struct OverrideValue {
  nlohmann::json value;
  std::string text;  // as written, e.g. "0.1" or "'a,b'"; what cell names and overrides show
};

struct Override {
  OverrideKind kind = OverrideKind::Set;
  std::string key;                    // dotted, or a group path such as "attention"
  std::vector<OverrideValue> values;  // one unless a sweep; none for a bare `~key`
  bool sweep = false;                 // written with sweep syntax (even if one value)
  Origin origin;                      // the override itself, or the matrix entry
};

// Parses one override; throws ConfigError (the key when known, `origin`) on bad syntax.
Override parse_override(const std::string& text, const Origin& origin);

// The values of a value text: one value, or the values of a sweep (sets `sweep`).
// Throws std::invalid_argument describing the problem.
std::vector<OverrideValue> parse_override_values(const std::string& text, bool& sweep);

// The text of a single-valued override: "+a.b=1", "~a.b".
std::string override_text(OverrideKind kind, const std::string& key, const OverrideValue* value);

}  // namespace attnlab::config
