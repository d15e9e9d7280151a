// The MQAR sequence generator; see mqar.h for the layout and the streams.
#include "attnlab/data/mqar.h"

#include <algorithm>
#include <climits>
#include <string>

#include "splitmix64.h"

namespace attnlab::data {

namespace {

constexpr int kAttempts = 256;

int32_t key_range(uint32_t vocab_size) { return static_cast<int32_t>((vocab_size - 1) / 2); }

// `count` distinct ids from [first, first + range) in random order (Floyd's sampling, then
// Fisher–Yates), count <= range.
std::vector<int32_t> distinct_ids(SplitMix64& rng, int32_t first, int32_t range, int count) {
  std::vector<int32_t> ids;
  for (int32_t j = range - count; j < range; ++j) {
    const auto t = static_cast<int32_t>(rng.below(uint64_t(j) + 1));
    ids.push_back(std::find(ids.begin(), ids.end(), t) == ids.end() ? t : j);
  }
  for (size_t n = ids.size(); n > 1; --n) std::swap(ids[n - 1], ids[rng.below(n)]);
  for (auto& id : ids) id += first;
  return ids;
}

// The sequence being filled: which pairs are queried, which slots are taken.
struct Layout {
  const MqarOptions& o;
  std::vector<int32_t> tokens;
  std::vector<bool> taken, queried;
  std::vector<MqarQuery> queries;

  bool fits(int pair, int gap) const {
    const int q = 2 * pair + gap;
    return !queried[pair] && q >= 2 * o.pairs && q + 1 <= o.seq_len && !taken[q] && !taken[q + 1];
  }
  // Places one query at a gap from `gaps` (the drawn one, else the next that fits).
  bool place_query(SplitMix64& rng) {
    const size_t n_gaps = o.gaps.size(), first = rng.below(n_gaps);
    for (size_t t = 0; t < n_gaps; ++t) {
      const int gap = o.gaps[(first + t) % n_gaps];
      std::vector<int> pairs;
      for (int i = 0; i < o.pairs; ++i)
        if (fits(i, gap)) pairs.push_back(i);
      if (pairs.empty()) continue;
      const int i = pairs[rng.below(pairs.size())];
      const int q = 2 * i + gap;
      tokens[q] = tokens[2 * i];
      tokens[q + 1] = tokens[2 * i + 1];
      taken[q] = taken[q + 1] = queried[i] = true;
      queries.push_back({q, tokens[q], tokens[q + 1], gap});
      return true;
    }
    return false;
  }
};

// One draw of a whole sequence; false when some query found no slot.
bool draw(const MqarOptions& o, SplitMix64& rng, MqarSequence& out) {
  const int32_t k = key_range(o.vocab_size);
  const auto keys = distinct_ids(rng, 1, k, o.pairs);
  const auto values = distinct_ids(rng, 1 + k, static_cast<int32_t>(o.vocab_size) - 1 - k, o.pairs);
  Layout layout{o, std::vector<int32_t>(o.seq_len + 1, 0), std::vector<bool>(o.seq_len + 1, false),
                std::vector<bool>(o.pairs, false), {}};
  for (int i = 0; i < o.pairs; ++i) {
    layout.tokens[2 * i] = keys[i];
    layout.tokens[2 * i + 1] = values[i];
    layout.taken[2 * i] = layout.taken[2 * i + 1] = true;
  }
  for (int j = 0; j < o.queries; ++j)
    if (!layout.place_query(rng)) return false;
  std::sort(layout.queries.begin(), layout.queries.end(),
            [](const MqarQuery& a, const MqarQuery& b) { return a.position < b.position; });
  out.tokens = std::move(layout.tokens);
  out.queries = std::move(layout.queries);
  return true;
}

// The stream a sequence may belong to: the top bit of the FNV-1a hash of its tokens. A draw
// that lands in the other stream is drawn again, so no eval sequence equals a train sequence,
// for any seeds and however small the space of sequences.
MqarSplit stream_of(const std::vector<int32_t>& tokens) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (int32_t token : tokens) {
    for (int byte = 0; byte < 4; ++byte) {
      h ^= (uint32_t(token) >> (8 * byte)) & 0xFF;
      h *= 0x100000001B3ull;
    }
  }
  return static_cast<MqarSplit>(h >> 63);
}

std::string gap_list(const std::vector<int>& gaps) {
  std::string s;
  for (int g : gaps) s += (s.empty() ? "" : ", ") + std::to_string(g);
  return "[" + s + "]";
}

}  // namespace

void check_mqar_options(const MqarOptions& o) {
  const auto fail = [](const std::string& key, const std::string& why) {
    throw DataError(key, key + ": " + why);
  };
  if (o.pairs < 1) fail("data.mqar.pairs", "must be >= 1, got " + std::to_string(o.pairs));
  if (o.queries < 1 || o.queries > o.pairs)
    fail("data.mqar.queries", "must be in [1, data.mqar.pairs = " + std::to_string(o.pairs) +
                                  "] (each query asks a different pair), got " +
                                  std::to_string(o.queries));
  if (o.vocab_size < 3 || key_range(o.vocab_size) < o.pairs)
    fail("data.vocab_size", std::to_string(o.vocab_size) + " leaves " +
                                std::to_string(o.vocab_size < 3 ? 0 : key_range(o.vocab_size)) +
                                " keys for " + std::to_string(o.pairs) +
                                " distinct pairs; set it to at least 2 * data.mqar.pairs + 1 = " +
                                std::to_string(2 * o.pairs + 1));
  if (2 * (o.pairs + o.queries) > o.seq_len + 1)
    fail("train.seq_len", std::to_string(o.seq_len) + " holds no " + std::to_string(o.pairs) +
                              " pairs and " + std::to_string(o.queries) +
                              " queries (2 tokens each, T+1 tokens a sequence); raise it to at "
                              "least " + std::to_string(2 * (o.pairs + o.queries) - 1));
  if (o.gaps.empty()) fail("data.mqar.gaps", "is empty; list at least one gap, e.g. [16, 64]");
  for (int g : o.gaps)
    if (g < 2 || g > o.seq_len - 1)
      fail("data.mqar.gaps", "gap " + std::to_string(g) + " is outside [2, train.seq_len - 1 = " +
                                 std::to_string(o.seq_len - 1) +
                                 "]: a query sits after the context, its answer inside the "
                                 "sequence");
}

MqarSequence mqar_sequence(const MqarOptions& o, MqarSplit split, uint64_t index) {
  check_mqar_options(o);
  SplitMix64 rng{o.seed * 0x9E3779B97F4A7C15ull ^
                 (2 * index + static_cast<uint64_t>(split) + 1) * 0xD1B54A32D192ED03ull};
  MqarSequence out;
  for (int attempt = 0; attempt < kAttempts; ++attempt)
    if (draw(o, rng, out) && stream_of(out.tokens) == split) return out;
  throw DataError("data.mqar.gaps",
                  "data.mqar.gaps " + gap_list(o.gaps) + ": no placement of " +
                      std::to_string(o.queries) + " queries over " + std::to_string(o.pairs) +
                      " pairs in " + std::to_string(o.seq_len + 1) + " tokens found in " +
                      std::to_string(kAttempts) +
                      " draws; use larger gaps, fewer queries or a longer train.seq_len");
}

void mqar_row(const MqarOptions& o, MqarSplit split, uint64_t index, int32_t* tokens_T1,
              uint8_t* answer_mask_T) {
  const auto sequence = mqar_sequence(o, split, index);
  std::copy(sequence.tokens.begin(), sequence.tokens.end(), tokens_T1);
  if (!answer_mask_T) return;
  std::fill(answer_mask_T, answer_mask_T + o.seq_len, uint8_t{0});
  for (const auto& q : sequence.queries) answer_mask_T[q.position] = 1;
}

MqarOptions mqar_options_from_config(const nlohmann::json& data, int seq_len) {
  const auto& m = data.at("mqar");
  MqarOptions o;
  o.vocab_size = static_cast<uint32_t>(data.at("vocab_size").get<int64_t>());
  o.pairs = m.at("pairs").get<int>();
  o.queries = m.at("queries").get<int>();
  for (const auto& gap : m.at("gaps")) {
    if (!gap.is_number_integer() || gap.get<int64_t>() < 0 || gap.get<int64_t>() > INT32_MAX)
      throw DataError("data.mqar.gaps", "data.mqar.gaps: " + gap.dump() +
                                            " is not a gap; list whole token distances, e.g. "
                                            "[16, 64, 256]");
    o.gaps.push_back(gap.get<int>());
  }
  o.seq_len = seq_len;
  o.seed = m.at("seed").get<uint64_t>();
  o.train_sequences = m.at("train_sequences").get<uint64_t>();
  o.val_sequences = m.at("val_sequences").get<uint64_t>();
  return o;
}

}  // namespace attnlab::data
