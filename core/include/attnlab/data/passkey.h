// Passkey retrieval (needle in a haystack; Mohtashami & Jaggi 2023, the DMA paper): a random
// passkey sentence hidden at relative depth d in L tokens of filler text (FineWeb documents),
// followed by the question. The model is asked to continue the prompt with the passkey.
//
// Prompt layout (token ids, each piece tokenized on its own):
//   filler[s .. s+a)   needle   filler[s+a .. s+n)   question
// where needle = " The pass key is" + " NNNNN" + ". Remember it.", question =
// " What is the pass key? The pass key is", n = L - |needle| - |question| filler tokens,
// a = round(d * n) of them before the needle, and the start s in the filler and the passkey
// NNNNN (digits, no leading zero) are drawn from the seed with splitmix64 (splitmix64.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "attnlab/data/error.h"
#include "attnlab/data/tokenizer.h"

namespace attnlab::data {

struct PasskeyOptions {
  int64_t length = 0;  // L: tokens of the whole prompt, question included
  double depth = 0.0;  // d in [0, 1]: the share of the filler before the needle
  uint64_t seed = 0;
  int digits = 5;      // of the passkey, 1 .. 18
};

struct PasskeyPrompt {
  std::vector<int32_t> tokens;     // the prompt: L tokens, the question last
  size_t needle_begin = 0, needle_end = 0;    // the needle sentence: tokens[begin, end)
  size_t passkey_begin = 0, passkey_end = 0;  // the passkey's own tokens within it
  std::string passkey;             // e.g. "68217"
  std::vector<int32_t> answer;     // the expected continuation: the tokens of " " + passkey
};

// The filler pool: documents of `files` (JSONL with a "text" field, or .txt; documents.h) in
// order, each tokenized with "\n\n" appended, until at least min_tokens are read. Fewer
// tokens in all the files is a DataError saying how many there are.
std::vector<int32_t> passkey_filler(const Tokenizer& tokenizer,
                                    const std::vector<std::string>& files, size_t min_tokens);

// The prompt for `options` over `filler`. A length too short for the needle and the question,
// a depth outside [0, 1], digits outside 1 .. 18 or a filler shorter than the prompt needs is
// a DataError naming the value.
PasskeyPrompt passkey_prompt(const Tokenizer& tokenizer, const std::vector<int32_t>& filler,
                             const PasskeyOptions& options);

}  // namespace attnlab::data
