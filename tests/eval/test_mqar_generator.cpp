// The MQAR generator against a naive reading of its own output: every answer found again by
// scanning the sequence, gaps as requested, keys and values in disjoint ranges, determinism,
// disjoint train and eval streams, and bad options named by their key.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "attnlab/data/mqar.h"

using namespace attnlab::data;

namespace {

MqarOptions options() {
  MqarOptions o;
  o.vocab_size = 301;  // keys [1, 151), values [151, 301)
  o.pairs = 12;
  o.queries = 9;
  o.gaps = {5, 24, 60, 97};
  o.seq_len = 128;
  o.seed = 7;
  o.train_sequences = 100;
  return o;
}

// The answer to the query whose key is tokens[q], by a scan of the context alone: the token
// after the first occurrence of the key at an even position before q. -1 when not found.
struct Found {
  int32_t answer = -1;
  int key_position = -1;
};
Found scan(const std::vector<int32_t>& tokens, int pairs, int q) {
  for (int p = 0; p < 2 * pairs; p += 2)
    if (tokens[p] == tokens[q]) return {tokens[p + 1], p};
  return {};
}

std::string error_key(const MqarOptions& o) {
  try {
    mqar_sequence(o, MqarSplit::Train, 0);
  } catch (const DataError& e) {
    return e.key();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("every MQAR answer is recoverable from its own sequence by a scan", "[mqar]") {
  const auto o = options();
  const int32_t k = (301 - 1) / 2;
  for (auto split : {MqarSplit::Train, MqarSplit::Eval}) {
    for (uint64_t n = 0; n < 200; ++n) {
      const auto s = mqar_sequence(o, split, n);
      REQUIRE(s.tokens.size() == size_t(o.seq_len + 1));
      REQUIRE(s.queries.size() == size_t(o.queries));
      std::set<int32_t> keys, values;
      for (int i = 0; i < o.pairs; ++i) {
        keys.insert(s.tokens[2 * i]);
        values.insert(s.tokens[2 * i + 1]);
        REQUIRE(s.tokens[2 * i] >= 1);
        REQUIRE(s.tokens[2 * i] < 1 + k);
        REQUIRE(s.tokens[2 * i + 1] >= 1 + k);
        REQUIRE(s.tokens[2 * i + 1] < int32_t(o.vocab_size));
      }
      REQUIRE(keys.size() == size_t(o.pairs));  // distinct keys: one answer each
      REQUIRE(values.size() == size_t(o.pairs));
      std::set<int32_t> queried;
      std::set<int> query_slots;
      for (const auto& q : s.queries) {
        const auto found = scan(s.tokens, o.pairs, q.position);
        REQUIRE(found.answer == q.answer);
        REQUIRE(s.tokens[q.position] == q.key);
        REQUIRE(s.tokens[q.position + 1] == q.answer);  // the target at input q
        REQUIRE(q.position - found.key_position == q.gap);
        REQUIRE(q.position >= 2 * o.pairs);
        REQUIRE(q.position + 1 <= o.seq_len);
        REQUIRE(std::count(o.gaps.begin(), o.gaps.end(), q.gap) == 1);
        queried.insert(q.key);
        query_slots.insert(q.position);
        query_slots.insert(q.position + 1);
      }
      REQUIRE(queried.size() == size_t(o.queries));  // each query asks a different pair
      // Every token of the query region outside the queries is the filler 0.
      for (int t = 2 * o.pairs; t <= o.seq_len; ++t)
        if (!query_slots.count(t)) REQUIRE(s.tokens[t] == 0);
    }
  }
}

TEST_CASE("MQAR draws every requested gap and only those", "[mqar]") {
  const auto o = options();
  std::map<int, int> seen;
  for (uint64_t n = 0; n < 300; ++n)
    for (const auto& q : mqar_sequence(o, MqarSplit::Train, n).queries) ++seen[q.gap];
  REQUIRE(seen.size() == o.gaps.size());
  for (int g : o.gaps) CHECK(seen[g] > 300 * o.queries / int(o.gaps.size()) / 4);
}

TEST_CASE("MQAR is deterministic for a seed and differs across seeds and indices", "[mqar]") {
  auto o = options();
  const auto a = mqar_sequence(o, MqarSplit::Eval, 17);
  const auto b = mqar_sequence(o, MqarSplit::Eval, 17);
  REQUIRE(a.tokens == b.tokens);
  REQUIRE(a.queries.size() == b.queries.size());
  for (size_t j = 0; j < a.queries.size(); ++j) REQUIRE(a.queries[j].position == b.queries[j].position);
  REQUIRE(mqar_sequence(o, MqarSplit::Eval, 18).tokens != a.tokens);
  o.seed = 8;
  REQUIRE(mqar_sequence(o, MqarSplit::Eval, 17).tokens != a.tokens);
}

TEST_CASE("MQAR train and eval streams share no sequence, even in a tiny space", "[mqar]") {
  auto o = options();
  // 380 key orders x 380 value orders x 2 query slots: 288,800 sequences, so 4,000 draws of
  // each stream would share about 55 by chance; the streams' partition must leave none.
  o.pairs = 2;
  o.queries = 1;
  o.vocab_size = 41;
  o.gaps = {30};
  o.seq_len = 40;
  std::set<std::vector<int32_t>> train;
  for (uint64_t n = 0; n < 4000; ++n) train.insert(mqar_sequence(o, MqarSplit::Train, n).tokens);
  REQUIRE(train.size() > 3900);  // few repeats within a stream: the space is used
  for (uint64_t seed : {7, 8}) {
    o.seed = seed;  // another seed's eval stream is disjoint from this train stream too
    for (uint64_t n = 0; n < 4000; ++n)
      REQUIRE(train.count(mqar_sequence(o, MqarSplit::Eval, n).tokens) == 0);
  }
}

TEST_CASE("the loader row of an MQAR sequence masks exactly the answer positions", "[mqar]") {
  const auto o = options();
  std::vector<int32_t> tokens(o.seq_len + 1);
  std::vector<uint8_t> mask(o.seq_len, 9);
  mqar_row(o, MqarSplit::Train, 3, tokens.data(), mask.data());
  const auto s = mqar_sequence(o, MqarSplit::Train, 3);
  REQUIRE(tokens == s.tokens);
  std::vector<uint8_t> expected(o.seq_len, 0);
  for (const auto& q : s.queries) expected[q.position] = 1;
  REQUIRE(mask == expected);
}

TEST_CASE("bad MQAR options are errors naming the key to change", "[mqar]") {
  auto o = options();
  o.pairs = 0;
  CHECK(error_key(o) == "data.mqar.pairs");
  o = options();
  o.queries = o.pairs + 1;
  CHECK(error_key(o) == "data.mqar.queries");
  o = options();
  o.vocab_size = 2 * o.pairs;  // one key short
  CHECK(error_key(o) == "data.vocab_size");
  o = options();
  o.gaps = {};
  CHECK(error_key(o) == "data.mqar.gaps");
  o.gaps = {1};
  CHECK(error_key(o) == "data.mqar.gaps");
  o.gaps = {o.seq_len};
  CHECK(error_key(o) == "data.mqar.gaps");
  o = options();
  o.seq_len = 2 * (o.pairs + o.queries) - 2;
  CHECK(error_key(o) == "train.seq_len");
  o = options();
  o.pairs = o.queries = 12;
  o.gaps = {2};  // only the last pair fits a gap of 2: 12 queries cannot be placed
  CHECK(error_key(o) == "data.mqar.gaps");
  try {
    mqar_sequence(o, MqarSplit::Train, 0);
  } catch (const DataError& e) {
    CHECK_THAT(e.what(), Catch::Contains("no placement of 12 queries"));
  }
}

TEST_CASE("MQAR options come from a data section; a non-integer gap is named", "[mqar]") {
  auto data = nlohmann::json::parse(R"({"vocab_size": 301, "mqar": {"pairs": 4, "queries": 3,
      "gaps": [8, 16], "seed": 5, "train_sequences": 10, "val_sequences": 2}})");
  const auto o = mqar_options_from_config(data, 64);
  CHECK(o.vocab_size == 301);
  CHECK(o.pairs == 4);
  CHECK(o.queries == 3);
  CHECK(o.gaps == std::vector<int>{8, 16});
  CHECK(o.seed == 5);
  CHECK(o.seq_len == 64);
  CHECK(o.train_sequences == 10);
  CHECK(o.val_sequences == 2);
  data["mqar"]["gaps"] = nlohmann::json::parse(R"([8, "far"])");
  try {
    mqar_options_from_config(data, 64);
    FAIL("no error");
  } catch (const DataError& e) {
    CHECK(e.key() == "data.mqar.gaps");
    CHECK_THAT(e.what(), Catch::Contains("\"far\""));
  }
}
