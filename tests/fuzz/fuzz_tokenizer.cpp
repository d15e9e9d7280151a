// libFuzzer target: the byte-level BPE tokenizers (core/data/tokenizer.h) on arbitrary bytes,
// valid UTF-8 or not. Tokenizer files come from $ATTNLAB_SHARED/tokenizers (default
// ../shared next to the repository), loaded once.
// Properties, with and without special tokens allowed: GPT-2 gives decode(encode(s)) == s
// byte for byte (tokenizer.h); Qwen3 NFC-normalises, so only: no crash, no exception, every
// id inside the vocabulary and decodable.
#include <cstddef>
#include <cstdint>
#include <string>

#include "attnlab/data/tokenizer.h"
#include "fuzz_util.h"

using attnlab::data::Tokenizer;

namespace {

const Tokenizer& load(const char* name) {
  const std::string dir = attnlab::fuzz::shared_dir() + "/tokenizers";
  try {
    return *new Tokenizer(Tokenizer::load(name, dir));  // lives for the whole process
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_tokenizer: cannot load %s from %s: %s (set ATTNLAB_SHARED)\n",
                 name, dir.c_str(), e.what());
    std::exit(2);
  }
}

void check(const Tokenizer& tokenizer, std::string_view text, bool allow_special,
           bool round_trips) {
  const auto ids = tokenizer.encode(text, allow_special);
  for (int32_t id : ids) {
    attnlab::fuzz::require(id >= 0 && static_cast<uint32_t>(id) < tokenizer.vocab_size(),
                           "encode returns ids inside the vocabulary");
  }
  const std::string decoded = tokenizer.decode(ids);
  if (round_trips && decoded != text) {
    std::fprintf(stderr, "%s (allow_special=%d): decode(encode(s)) != s for %zu bytes\n",
                 tokenizer.name().c_str(), allow_special, text.size());
    attnlab::fuzz::require(false, "decode(encode(s)) == s");
  }
}

const Tokenizer* gpt2 = nullptr;
const Tokenizer* qwen3 = nullptr;

}  // namespace

// Loads the tokenizers before the first input, so that their seconds of file parsing (more
// under the sanitizers on a loaded machine) never count against libFuzzer's -timeout per input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gpt2 = &load("gpt2");
  qwen3 = &load("qwen3");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool allow_special : {false, true}) {
    check(*gpt2, text, allow_special, true);
    check(*qwen3, text, allow_special, false);
  }
  return 0;
}
