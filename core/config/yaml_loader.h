// Internal: reads a YAML config file into a json tree plus the file:line:column of every key,
// rejecting what yaml-cpp accepts silently (duplicate keys) or explains badly (tabs, binary
// files, empty files).
#pragma once
#include <filesystem>
#include <string>

#include "config_tree.h"

namespace attnlab::config {

// The file's mapping with origins; throws ConfigError (file:line:column, dotted key) for
// unreadable, binary or empty files, tab indentation, syntax errors, several documents, a
// stray ',' where a document's value starts (yaml-cpp 0.7 would loop forever), a
// top level that is not a mapping, duplicate, empty, dotted or non-scalar keys, unknown tags,
// control characters in keys or strings, numbers beyond the float range, and files (or
// aliases expanded) past kMaxConfigValues / kMaxConfigBytes.
ConfigTree load_yaml_file(const std::filesystem::path& file);

// A flow value written in an override ("[1, 2]", "{a: 1}"), typed and checked like file
// values. Throws std::invalid_argument with the parser's message.
nlohmann::json parse_flow_value(const std::string& text);

}  // namespace attnlab::config
