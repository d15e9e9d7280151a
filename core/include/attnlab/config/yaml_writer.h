// YAML text from a config tree: what `attnlab config show` prints and what runs store as
// their resolved config. The output reads back through the config loader to the same tree.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace attnlab::config {

// Block-style YAML, keys in sorted order, strings quoted only where YAML would retype them.
std::string to_yaml(const nlohmann::json& tree);

// One-line flow YAML of a value: `1`, `gated_window`, `"a,b"`, `[1, 2]`, `{a: 1}`. Also the
// value syntax of overrides: parse_override("key=" + to_flow_yaml(v)) gives back v.
std::string to_flow_yaml(const nlohmann::json& value);

}  // namespace attnlab::config
