// The concatenation of a list of shards as one random-access token sequence, with the
// vocabulary check applied to every token copied out (shared by TokenLoader and ValidationSet).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attnlab/data/shard.h"

namespace attnlab::data {

class TokenStream {
 public:
  TokenStream(const std::vector<std::string>& files, uint32_t vocab_size);

  uint64_t size() const { return total_; }
  // Copies tokens [begin, begin + count) of the concatenation into out. A token >= vocab_size
  // is a DataError naming the shard and the token's offset in it.
  void copy(uint64_t begin, uint64_t count, int32_t* out) const;
  std::string describe() const;  // "N tokens in K shard(s) (first.bin ...)" for messages

 private:
  std::vector<MappedShard> shards_;
  std::vector<uint64_t> starts_;  // stream offset of each shard's first token
  uint64_t total_ = 0;
  uint32_t vocab_size_;
};

}  // namespace attnlab::data
