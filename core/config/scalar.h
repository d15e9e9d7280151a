// Internal: the type of a plain (unquoted) YAML scalar under the YAML 1.2 core schema, shared
// by the file loader and the override parser so `a: 1e-3` and `a=1e-3` mean the same.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace attnlab::config {

// null (~, null, empty), bool (true/false in three casings), int (decimal, 0x, 0o),
// float (1.5, 1e-3, .inf, .nan), else the string itself.
nlohmann::json resolve_plain_scalar(const std::string& text);

}  // namespace attnlab::config
