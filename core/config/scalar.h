// Internal: the type of a plain (unquoted) YAML scalar under the YAML 1.2 core schema, shared
// by the file loader and the override parser so `a: 1e-3` and `a=1e-3` mean the same; and the
// check that keeps control characters and broken UTF-8 out of config text.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace attnlab::config {

// null (~, null, empty), bool (true/false in three casings), int (decimal, 0x, 0o),
// float (1.5, 1e-3, .inf, .nan), else the string itself. An int beyond 64 bits becomes a
// float (the schema says when an int key gets one). Throws std::invalid_argument for a
// number beyond the float range (1e999).
nlohmann::json resolve_plain_scalar(const std::string& text);

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not valid UTF-8 (also for
// overlong forms, UTF-16 surrogates and code points past U+10FFFF, which JSON rejects).
size_t utf8_length(const std::string& text, size_t i);

// Offset of the first byte of `text` that is not UTF-8, or std::string::npos.
size_t first_non_utf8(const std::string& text);

// Throws std::invalid_argument at the first byte of `text` that is not UTF-8, naming the byte
// and its offset in `what` ("byte \xab at byte 7 of the override is not UTF-8; ...").
void check_utf8(const std::string& text, const std::string& what);

// Throws std::invalid_argument at the first control character of `text`, named as an escape
// ("\x07"): C0 controls, DEL and C1 controls (U+0080-U+009F); values may hold tab and
// newline (multi-line strings), keys hold neither. Also at a byte that is not UTF-8 (what
// yaml-cpp makes of the escapes \N and \_, or a command line in another encoding).
void check_string_chars(const std::string& text, bool is_key);

// `text` with every control character (tab and newline too) and every byte that is not UTF-8
// written as such an escape, for messages that echo what the user gave.
std::string escape_control_chars(const std::string& text);

}  // namespace attnlab::config
