// `attnlab data prepare`: documents -> llm.c token shards, laid out as llm.c and
// modded-nanogpt do (<name>_val_000000.bin first, then <name>_train_000001.bin, ...), each
// document prefixed with <|endoftext|> and documents split across shard boundaries, so the
// shards concatenated are exactly the token stream. Tokenization runs on all cores; each
// shard is written under a temporary name and renamed when complete; a manifest
// (<name>_manifest.json) records sources, tokenizer hash and token counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attnlab/data/error.h"

namespace attnlab::data {

inline constexpr int kMaxPrepareThreads = 1024;  // tokenizer threads; more is a DataError

struct PrepareOptions {
  std::vector<std::string> inputs;  // .jsonl/.jsonl.gz/.jsonl.zst/.txt files, globs allowed
  std::string output_dir;
  std::string name = "fineweb";    // shard file prefix
  std::string tokenizer = "gpt2";  // name under tokenizer_dir, or a path
  std::string tokenizer_dir = "../shared/tokenizers";
  std::string text_field = "text";
  uint64_t shard_tokens = 100'000'000;  // tokens per train shard (llm.c's default)
  uint64_t val_tokens = 100'000'000;    // tokens of the validation shard (0: none)
  int threads = 0;                      // 0: every core; at most kMaxPrepareThreads
  bool skip_bad_lines = false;          // malformed JSONL lines: warn and skip, else stop
  bool overwrite = false;               // replace shards of `name` already in output_dir
  bool progress = true;                 // progress lines on stderr
};

struct PreparedShard {
  std::string path;
  std::string split;  // "val" or "train"
  uint64_t tokens = 0;
};

struct PrepareResult {
  std::vector<PreparedShard> shards;
  std::string manifest_path;
  uint64_t documents = 0, skipped_lines = 0, tokens = 0, text_bytes = 0;
  double seconds = 0;
};

PrepareResult prepare_shards(const PrepareOptions& options);

}  // namespace attnlab::data
