// GPT-2's byte-level alphabet: vocabulary files spell each token's bytes as printable code
// points (byte 0x20 is 'Ġ', 0x0A is 'Ċ', ...). These convert such spellings back to raw bytes.
#pragma once
#include <string>
#include <string_view>

namespace attnlab::data::byte_level {

// The raw bytes a vocabulary/merges spelling stands for; throws DataError (mentioning
// `where`) if `spelled` contains a code point outside the 256-symbol alphabet.
std::string to_bytes(std::string_view spelled, const std::string& where);

}  // namespace attnlab::data::byte_level
