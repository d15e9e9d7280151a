// GPT-2's bytes_to_unicode() table, inverted; see byte_level.h.
#include "byte_level.h"

#include <array>

#include "attnlab/data/error.h"

namespace attnlab::data::byte_level {

namespace {

// code point -> byte for the 256 symbols (code points < 324), -1 elsewhere.
std::array<int, 324> make_inverse() {
  std::array<int, 324> inv;
  inv.fill(-1);
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    inv[printable ? b : next++] = b;
  }
  return inv;
}

}  // namespace

std::string to_bytes(std::string_view spelled, const std::string& where) {
  static const std::array<int, 324> inverse = make_inverse();
  std::string out;
  out.reserve(spelled.size());
  for (size_t i = 0; i < spelled.size();) {
    const auto c = static_cast<unsigned char>(spelled[i]);
    uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < spelled.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(spelled[i + 1]) & 0x3Fu);
      i += 2;
    } else {
      cp = 0xFFFFFFFF;  // 3- and 4-byte sequences are never part of the alphabet
    }
    if (cp >= inverse.size() || inverse[cp] < 0)
      throw DataError(where + ": '" + std::string(spelled) +
                      "' is not spelled in the byte-level alphabet (is this a byte-level BPE "
                      "vocabulary?)");
    out.push_back(static_cast<char>(inverse[cp]));
  }
  return out;
}

}  // namespace attnlab::data::byte_level
