// Byte-level BPE tokenizers (GPT-2 and Qwen3): text -> token ids and back.
//
// Pipeline of encode(): added tokens are cut out first (special ones only when the caller
// passes allow_special; non-special added tokens such as Qwen3's <think> always, as Hugging
// Face does), then each remaining segment is NFC-normalised (Qwen3), split into pre-tokens by
// the tokenizer's own regex (PCRE2, UTF + Unicode properties, JIT) and each pre-token's bytes
// are merged by rank. Frequent pre-tokens are cached per thread.
//
// Invalid UTF-8: each maximal valid run is tokenized as above and every byte that is not part
// of a valid sequence becomes its own single-byte token: nothing is dropped or replaced by
// U+FFFD.
//
// Round trip: without NFC (GPT-2: encoder.json + vocab.bpe, or a tokenizer.json without a
// normalizer) decode(encode(s)) == s for every byte string s, valid UTF-8 or not. With NFC
// (Qwen3: vocab.json + merges.txt, or a tokenizer.json whose normalizer is NFC)
// decode(encode(s)) is s with each valid UTF-8 run NFC-normalised (invalid bytes and added
// tokens kept as they are): == s exactly when those runs are already NFC, e.g. "e\xcc\x81"
// (e + combining acute) comes back as "\xc3\xa9" (é).
//
// Thread safety: a Tokenizer is immutable after loading; encode/decode may run concurrently.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attnlab/data/error.h"

namespace attnlab::data {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = true;  // special: recognised in text only with allow_special
};

class Tokenizer {
 public:
  // `name_or_path`: "gpt2" or "qwen3" (a folder under `tokenizer_dir`), or a path to a folder
  // or to a tokenizer.json / encoder.json file. A folder is read as, in order of preference:
  // tokenizer.json; encoder.json + vocab.bpe (GPT-2); vocab.json + merges.txt (Qwen2/3, with
  // added tokens from tokenizer_config.json when present).
  static Tokenizer load(const std::string& name_or_path,
                        const std::string& tokenizer_dir = "../shared/tokenizers");
  static Tokenizer from_tokenizer_json(const std::string& path);
  static Tokenizer from_gpt2_files(const std::string& encoder_json, const std::string& vocab_bpe);
  static Tokenizer from_vocab_merges(const std::string& vocab_json, const std::string& merges_txt,
                                     const std::string& tokenizer_config_json);  // last may be ""

  std::vector<int32_t> encode(std::string_view text, bool allow_special = false) const;
  // Appends the ids of `text` to `out` (no allocation per call once `out` has grown).
  void encode_into(std::string_view text, std::vector<int32_t>& out,
                   bool allow_special = false) const;
  // The bytes of the tokens concatenated; an id outside the vocabulary is a DataError.
  std::string decode(const int32_t* ids, size_t n) const;
  std::string decode(const std::vector<int32_t>& ids) const {
    return decode(ids.data(), ids.size());
  }

  int32_t eot_id() const;           // <|endoftext|>: prefixed to every document by `data prepare`
  uint32_t vocab_size() const;      // largest id + 1 (GPT-2 50257, Qwen3 151669)
  const std::string& name() const;  // e.g. "gpt2" or the file it was loaded from
  const std::string& hash() const;  // "fnv1a64:<hex>" of the files loaded
  const std::vector<AddedToken>& added_tokens() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace attnlab::data
