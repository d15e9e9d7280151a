// UTF-8 helpers of the tokenizer: strict validation (the length of the valid prefix) and
// NFC normalisation (ICU), with a byte-level fast path for text that is NFC by construction.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace attnlab::data::utf8 {

// Length of the longest prefix of `s` made of well-formed UTF-8 sequences (no overlongs,
// surrogates or code points above U+10FFFF).
size_t valid_prefix(std::string_view s);

// `s` (valid UTF-8) in Normalization Form C. Returns a view of `s` itself when it is already
// NFC (always true when every code point is below U+0300), else of `buffer`.
std::string_view nfc(std::string_view s, std::string& buffer);

}  // namespace attnlab::data::utf8
