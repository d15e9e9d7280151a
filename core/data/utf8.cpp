// UTF-8 validation and NFC normalisation; see utf8.h.
#include "utf8.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "attnlab/data/error.h"

namespace attnlab::data::utf8 {

namespace {

// Length of the well-formed sequence starting at s[i], or 0 if there is none (Unicode table 3-7).
size_t sequence_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const size_t left = s.size() - i;
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < left && b(k) >= lo && b(k) <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

}  // namespace

size_t valid_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Fast path: eight ASCII bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= s.size()) break;
    const size_t n = sequence_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return s.size();
}

std::string_view nfc(std::string_view s, std::string& buffer) {
  // In valid UTF-8 a byte >= 0xCC is the lead byte of a code point >= U+0300; every code point
  // below U+0300 is NFC-stable and combines with nothing before it.
  bool below_0300 = true;
  for (unsigned char c : s) below_0300 &= c < 0xCC;
  if (below_0300) return s;
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfc = unorm2_getNFCInstance(&err);
  std::vector<UChar> utf16(s.size() + 1);
  int32_t n16 = 0;
  u_strFromUTF8(utf16.data(), int32_t(utf16.size()), &n16, s.data(), int32_t(s.size()), &err);
  if (U_FAILURE(err)) throw DataError(std::string("NFC normalisation failed: ") + u_errorName(err));
  if (unorm2_isNormalized(nfc, utf16.data(), n16, &err) && U_SUCCESS(err)) return s;
  err = U_ZERO_ERROR;
  std::vector<UChar> normal(size_t(n16) + 16);
  int32_t nn =
      unorm2_normalize(nfc, utf16.data(), n16, normal.data(), int32_t(normal.size()), &err);
  if (err == U_BUFFER_OVERFLOW_ERROR) {  // NFC can lengthen text (rarely): retry with room
    err = U_ZERO_ERROR;
    normal.resize(size_t(nn));
    nn = unorm2_normalize(nfc, utf16.data(), n16, normal.data(), int32_t(normal.size()), &err);
  }
  if (U_FAILURE(err)) throw DataError(std::string("NFC normalisation failed: ") + u_errorName(err));
  buffer.resize(size_t(nn) * 3 + 4);
  int32_t n8 = 0;
  u_strToUTF8(buffer.data(), int32_t(buffer.size()), &n8, normal.data(), nn, &err);
  if (U_FAILURE(err)) throw DataError(std::string("NFC normalisation failed: ") + u_errorName(err));
  buffer.resize(n8);
  return buffer;
}

}  // namespace attnlab::data::utf8
