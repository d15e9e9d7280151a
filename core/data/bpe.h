// The byte-pair merge step: the bytes of one pre-token -> token ids, applying the
// lowest-ranked merge first (leftmost among equals), as GPT-2's encoder.py, tiktoken and
// Hugging Face tokenizers do. O(n log n) in the piece length, so long pieces cannot hang.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace attnlab::data {

class BpeModel {
 public:
  using Vocab = std::unordered_map<std::string, int32_t>;           // raw bytes -> id
  using Merges = std::vector<std::pair<std::string, std::string>>;  // raw bytes, rank order

  // Every byte must have a token and every merge's parts and result must be in `vocab`;
  // otherwise a DataError naming `source` and the merge's rank.
  BpeModel(Vocab vocab, const Merges& merges, const std::string& source);

  void encode(std::string_view piece, std::vector<int32_t>& out) const;  // appends ids
  const Vocab& vocab() const { return vocab_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  static uint64_t key(int32_t left, int32_t right) {
    return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  }
  Vocab vocab_;
  int32_t byte_id_[256];
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace attnlab::data
