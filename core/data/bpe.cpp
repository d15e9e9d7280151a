// Rank-ordered byte-pair merging with a min-heap over adjacent pairs; see bpe.h.
#include "bpe.h"

#include <algorithm>

#include "attnlab/data/error.h"

namespace attnlab::data {

BpeModel::BpeModel(Vocab vocab, const Merges& merges, const std::string& source)
    : vocab_(std::move(vocab)) {
  for (int b = 0; b < 256; ++b) {
    auto it = vocab_.find(std::string(1, char(b)));
    if (it == vocab_.end())
      throw DataError(source + ": byte " + std::to_string(b) +
                      " has no token: not a byte-level BPE vocabulary");
    byte_id_[b] = it->second;
  }
  merges_.reserve(merges.size() * 2);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    auto l = vocab_.find(left), r = vocab_.find(right), m = vocab_.find(left + right);
    if (l == vocab_.end() || r == vocab_.end() || m == vocab_.end())
      throw DataError(source + ": merge " + std::to_string(rank + 1) +
                      " joins tokens missing from the vocabulary (vocabulary and merges files "
                      "of different tokenizers?)");
    // A repeated pair takes its last rank, as in encoder.py's dict and Hugging Face's map.
    merges_[key(l->second, r->second)] = Merge{int32_t(rank), m->second};
  }
}

void BpeModel::encode(std::string_view piece, std::vector<int32_t>& out) const {
  const size_t n = piece.size();
  if (n == 1) {
    out.push_back(byte_id_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  // Symbols as a doubly linked list over positions; a heap of candidate merges ordered by
  // (rank, position). Entries made stale by earlier merges are skipped when popped.
  struct Candidate {
    int32_t rank;
    int32_t left;   // position of the left symbol
    int32_t right;  // position of the right symbol when the candidate was made
    int32_t id;     // the merged token
    int32_t left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  thread_local std::vector<int32_t> ids, prev, next;
  thread_local std::vector<Candidate> heap;
  ids.resize(n);
  prev.resize(n);
  next.resize(n);
  heap.clear();
  for (size_t i = 0; i < n; ++i) {
    ids[i] = byte_id_[static_cast<unsigned char>(piece[i])];
    prev[i] = int32_t(i) - 1;
    next[i] = i + 1 < n ? int32_t(i + 1) : -1;
  }
  const auto greater = std::greater<Candidate>();
  auto push = [&](int32_t left) {
    const int32_t right = next[left];
    if (left < 0 || right < 0) return;
    auto it = merges_.find(key(ids[left], ids[right]));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, left, right, it->second.id, ids[left], ids[right]});
    std::push_heap(heap.begin(), heap.end(), greater);
  };
  for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), greater);
    const Candidate c = heap.back();
    heap.pop_back();
    // Stale: the left symbol was absorbed, or either side has changed since.
    if (ids[c.left] != c.left_id || next[c.left] != c.right || ids[c.right] != c.right_id) continue;
    ids[c.left] = c.id;
    ids[c.right] = -1;  // absorbed
    next[c.left] = next[c.right];
    if (next[c.left] >= 0) prev[next[c.left]] = c.left;
    if (prev[c.left] >= 0) push(prev[c.left]);
    push(c.left);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

}  // namespace attnlab::data
