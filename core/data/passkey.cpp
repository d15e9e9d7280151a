// The passkey prompt and its filler pool; see passkey.h.
#include "attnlab/data/passkey.h"

#include <cmath>

#include "attnlab/data/documents.h"
#include "splitmix64.h"

namespace attnlab::data {

namespace {

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void check_options(const PasskeyOptions& o) {
  if (!(o.depth >= 0.0 && o.depth <= 1.0))
    throw DataError("passkey depth " + std::to_string(o.depth) +
                    " is outside [0, 1] (0: the needle first, 1: right before the question)");
  if (o.digits < 1 || o.digits > 18)
    throw DataError("passkey digits " + std::to_string(o.digits) + " is outside 1 .. 18");
}

std::string draw_passkey(SplitMix64& rng, int digits) {
  uint64_t low = 1;
  for (int i = 1; i < digits; ++i) low *= 10;
  const uint64_t first = digits == 1 ? 0 : low;  // no leading zero
  return std::to_string(first + rng.below(low * 10 - first));
}

}  // namespace

std::vector<int32_t> passkey_filler(const Tokenizer& tokenizer,
                                    const std::vector<std::string>& files, size_t min_tokens) {
  DocumentReader reader(files);
  std::vector<int32_t> tokens;
  Record record;
  while (tokens.size() < min_tokens && reader.next(record))
    tokenizer.encode_into(parse_record(record, "text") + "\n\n", tokens);
  if (tokens.size() < min_tokens)
    throw DataError("passkey filler: the input files hold " + std::to_string(tokens.size()) +
                    " tokens, fewer than the " + std::to_string(min_tokens) +
                    " asked for; give more documents or a shorter length");
  return tokens;
}

PasskeyPrompt passkey_prompt(const Tokenizer& tokenizer, const std::vector<int32_t>& filler,
                             const PasskeyOptions& o) {
  check_options(o);
  SplitMix64 rng{o.seed * 0x9E3779B97F4A7C15ull ^ 0xD1B54A32D192ED03ull};
  PasskeyPrompt p;
  p.passkey = draw_passkey(rng, o.digits);
  p.answer = tokenizer.encode(" " + p.passkey);
  const auto before = tokenizer.encode(" The pass key is");
  const auto needle = concat(concat(before, p.answer), tokenizer.encode(". Remember it."));
  const auto question = tokenizer.encode(" What is the pass key? The pass key is");
  const int64_t n = o.length - int64_t(needle.size() + question.size());
  if (n < 0)
    throw DataError("passkey length " + std::to_string(o.length) + " is shorter than the " +
                    std::to_string(needle.size() + question.size()) +
                    " tokens of the needle and the question; raise it");
  if (size_t(n) > filler.size())
    throw DataError("passkey filler of " + std::to_string(filler.size()) +
                    " tokens is shorter than the " + std::to_string(n) +
                    " the prompt needs; read more documents (passkey_filler's min_tokens)");
  const size_t start = rng.below(filler.size() - size_t(n) + 1);
  const auto a = static_cast<size_t>(std::llround(o.depth * double(n)));
  const auto filler_at = filler.begin() + std::ptrdiff_t(start);
  p.tokens.assign(filler_at, filler_at + std::ptrdiff_t(a));
  p.needle_begin = p.tokens.size();
  p.passkey_begin = p.needle_begin + before.size();
  p.passkey_end = p.passkey_begin + p.answer.size();
  p.tokens.insert(p.tokens.end(), needle.begin(), needle.end());
  p.needle_end = p.tokens.size();
  p.tokens.insert(p.tokens.end(), filler_at + std::ptrdiff_t(a), filler_at + std::ptrdiff_t(n));
  p.tokens.insert(p.tokens.end(), question.begin(), question.end());
  return p;
}

}  // namespace attnlab::data
