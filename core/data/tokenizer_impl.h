// The state behind a Tokenizer (internal): what the file loaders produce and encode/decode use.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "attnlab/data/tokenizer.h"
#include "bpe.h"
#include "pretokenizer.h"

namespace attnlab::data {

// What a tokenizer's files say, before the runtime tables are built.
struct TokenizerSpec {
  std::string name;            // shown in messages and manifests
  std::string hash;            // "fnv1a64:<hex>" over the files read
  BpeModel::Vocab vocab;       // raw bytes -> id (added tokens excluded)
  BpeModel::Merges merges;     // rank order
  std::string split_pattern;   // pre-tokenizer regex
  bool nfc = false;            // NFC-normalise text before splitting
  bool ignore_merges = false;  // a pre-token that is itself in the vocabulary is that token
  std::vector<AddedToken> added;
};

struct Tokenizer::Impl {
  explicit Impl(TokenizerSpec spec);

  std::string name, hash;
  BpeModel bpe;
  SplitRegex split;
  bool nfc, ignore_merges;
  std::vector<AddedToken> added;      // longest first, so the longest match wins
  bool added_first_byte[256] = {};    // bytes some added token starts with
  std::vector<std::string> id_bytes;  // decode table
  std::vector<bool> id_known;
  int32_t eot = -1;
  uint64_t uid;  // distinguishes tokenizers in the per-thread cache
};

// File readers (tokenizer_files.cpp).
TokenizerSpec read_tokenizer_json(const std::string& path);
TokenizerSpec read_gpt2_files(const std::string& encoder_json, const std::string& vocab_bpe);
TokenizerSpec read_vocab_merges(const std::string& vocab_json, const std::string& merges_txt,
                                const std::string& tokenizer_config_json);

}  // namespace attnlab::data
