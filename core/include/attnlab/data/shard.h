// llm.c token shards, read and written as is so FineWeb shards made for llm.c or
// modded-nanogpt load unchanged and ours load in theirs:
//   header: 256 little-endian int32 = [magic, version, n_tokens, 0...]
//   20240520, version 1: uint16 tokens (vocabularies of at most 65,536 tokens, e.g. GPT-2)
//   20240801, version 7: uint32 tokens (larger vocabularies, e.g. Qwen3)
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "attnlab/data/error.h"

namespace attnlab::data {

constexpr int32_t kShardMagicU16 = 20240520;
constexpr int32_t kShardVersionU16 = 1;
constexpr int32_t kShardMagicU32 = 20240801;
constexpr int32_t kShardVersionU32 = 7;
constexpr size_t kShardHeaderInts = 256;
constexpr size_t kShardHeaderBytes = kShardHeaderInts * sizeof(int32_t);

// Bytes per token a shard for a vocabulary of `vocab_size` tokens uses: 2 up to 65,536, else 4.
int shard_token_bytes(uint64_t vocab_size);

// A read-only memory map of one shard. The constructor checks magic, version and that the file
// size is exactly header + n_tokens * token width; each problem is a DataError naming the file.
class MappedShard {
 public:
  explicit MappedShard(const std::string& path);
  ~MappedShard();
  MappedShard(MappedShard&& other) noexcept;
  MappedShard& operator=(MappedShard&&) = delete;
  MappedShard(const MappedShard&) = delete;
  MappedShard& operator=(const MappedShard&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return n_tokens_; }       // tokens in the shard
  int token_bytes() const { return token_bytes_; }  // 2 or 4
  int32_t magic() const { return magic_; }
  int32_t version() const { return version_; }
  uint32_t at(uint64_t i) const;  // token i (no bounds check beyond an assert)
  // Copies tokens [begin, begin + count) into out; the range must lie inside the shard.
  void copy(uint64_t begin, uint64_t count, int32_t* out) const;

 private:
  std::string path_;
  const unsigned char* map_ = nullptr;
  size_t map_bytes_ = 0;
  uint64_t n_tokens_ = 0;
  int token_bytes_ = 2;
  int32_t magic_ = 0;
  int32_t version_ = 0;
};

// Writes one shard under a temporary name (`<path>.tmp`) and renames it to `path` in finish(),
// so an interrupted run never leaves a file that looks like a whole shard. A writer destroyed
// without finish() removes its temporary file.
class ShardWriter {
 public:
  ShardWriter(std::string path, uint64_t vocab_size);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Appends tokens; a token outside [0, vocab_size) is a DataError (nothing is written).
  void append(const int32_t* tokens, size_t n);
  uint64_t size() const { return n_tokens_; }
  const std::string& path() const { return path_; }
  void finish();  // header with the final count, flush, fsync, rename

 private:
  std::string path_;
  std::string tmp_path_;
  uint64_t vocab_size_;
  int token_bytes_;
  uint64_t n_tokens_ = 0;
  std::FILE* file_ = nullptr;
};

}  // namespace attnlab::data
