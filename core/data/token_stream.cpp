// Shards concatenated into one token sequence; see token_stream.h.
#include "token_stream.h"

#include <algorithm>

namespace attnlab::data {

TokenStream::TokenStream(const std::vector<std::string>& files, uint32_t vocab_size)
    : vocab_size_(vocab_size) {
  if (vocab_size == 0) throw DataError("data.vocab_size must be set (> 0) to read shards");
  shards_.reserve(files.size());
  for (const auto& f : files) {
    shards_.emplace_back(f);
    if (shards_.back().token_bytes() == 2 && vocab_size > 65536)
      throw DataError("shard '" + f + "' stores uint16 tokens but data.vocab_size is " +
                      std::to_string(vocab_size) +
                      " (> 65536): it was prepared with another tokenizer");
    starts_.push_back(total_);
    total_ += shards_.back().size();
  }
}

void TokenStream::copy(uint64_t begin, uint64_t count, int32_t* out) const {
  // The last shard starting at or before `begin`.
  size_t s = std::upper_bound(starts_.begin(), starts_.end(), begin) - starts_.begin() - 1;
  uint64_t done = 0;
  while (done < count) {
    const MappedShard& shard = shards_[s];
    const uint64_t offset = begin + done - starts_[s];
    const uint64_t n = std::min<uint64_t>(count - done, shard.size() - offset);
    shard.copy(offset, n, out + done);
    for (uint64_t i = 0; i < n; ++i) {
      if (static_cast<uint32_t>(out[done + i]) >= vocab_size_)
        throw DataError("shard '" + shard.path() + "': token " +
                        std::to_string(static_cast<uint32_t>(out[done + i])) + " at offset " +
                        std::to_string(offset + i) + " is >= data.vocab_size " +
                        std::to_string(vocab_size_) +
                        " (wrong tokenizer for these shards, or a corrupt shard)");
    }
    done += n;
    ++s;
  }
}

std::string TokenStream::describe() const {
  std::string s =
      std::to_string(total_) + " tokens in " + std::to_string(shards_.size()) + " shard(s)";
  if (!shards_.empty()) s += " (" + shards_.front().path() + (shards_.size() > 1 ? " ...)" : ")");
  return s;
}

}  // namespace attnlab::data
