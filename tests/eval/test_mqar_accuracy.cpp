// mqar_accuracy against a hand-checkable stub: a "model" that looks each query's key up in the
// context and answers right only for keys not divisible by 3 (wrong otherwise), so the exact
// accuracy per gap is counted here from the generator's queries, independently of the scorer.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <map>

#include "attnlab/eval/mqar_accuracy.h"

using namespace attnlab;

namespace {

data::MqarOptions options() {
  data::MqarOptions o;
  o.vocab_size = 64;  // keys 1..31, values 32..63
  o.pairs = 6;
  o.queries = 5;
  o.gaps = {4, 15, 33};
  o.seq_len = 56;
  o.seed = 2;
  return o;
}

// Logits [B, T, V]: at a position holding a key after the context, a peak at the key's value
// in the context (keys divisible by 3: at the value + 1, a wrong answer); elsewhere at 0.
torch::Tensor stub_logits(const torch::Tensor& idx_BT, const data::MqarOptions& o) {
  const int64_t B = idx_BT.size(0), T = idx_BT.size(1);
  auto logits_BTV = torch::randn({B, T, int64_t(o.vocab_size)}) * 0.1;  // noise below the peak
  const auto idx = idx_BT.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 2 * o.pairs; t < T; ++t) {
      const int64_t key = idx[b][t];
      if (key == 0 || key > int64_t(o.vocab_size - 1) / 2) continue;  // not a key
      int64_t value = 0;
      for (int p = 0; p < o.pairs; ++p)
        if (idx[b][2 * p] == key) value = idx[b][2 * p + 1];
      const int64_t wrong = value + 1 < int64_t(o.vocab_size) ? value + 1 : value - 1;
      logits_BTV[b][t][key % 3 == 0 ? wrong : value] = 5.0;
    }
  }
  return logits_BTV;
}

}  // namespace

TEST_CASE("MQAR accuracy per gap equals a count of the stub's right answers", "[mqar][accuracy]") {
  torch::manual_seed(0);
  const auto o = options();
  const int64_t n = 23;  // not a multiple of the batch: the last batch is smaller
  std::map<int, std::pair<int64_t, int64_t>> expected;  // gap -> (right, total)
  for (int64_t i = 0; i < n; ++i) {
    for (const auto& q : data::mqar_sequence(o, data::MqarSplit::Eval, uint64_t(i)).queries) {
      expected[q.gap].first += q.key % 3 != 0;
      ++expected[q.gap].second;
    }
  }
  int64_t batches = 0;
  const auto result = eval::mqar_accuracy(
      [&](const torch::Tensor& idx_BT) {
        ++batches;
        REQUIRE(idx_BT.size(1) == o.seq_len);
        return stub_logits(idx_BT, o);
      },
      o, n, 5);
  CHECK(batches == 5);
  REQUIRE(result.by_gap.size() == expected.size());
  int64_t right = 0;
  for (const auto& bucket : result.by_gap) {
    INFO("gap " << bucket.gap);
    CHECK(bucket.correct == expected.at(bucket.gap).first);
    CHECK(bucket.total == expected.at(bucket.gap).second);
    CHECK(bucket.accuracy() == Approx(double(bucket.correct) / double(bucket.total)));
    right += bucket.correct;
  }
  CHECK(result.total == n * o.queries);
  CHECK(result.correct == right);
  CHECK(result.correct > 0);
  CHECK(result.correct < result.total);  // some keys are multiples of 3: the stub misses them
  CHECK(result.by_gap.front().gap < result.by_gap.back().gap);
}

TEST_CASE("MQAR accuracy rejects an empty stream", "[mqar][accuracy]") {
  const auto logits = [](const torch::Tensor& idx_BT) { return idx_BT; };
  CHECK_THROWS_AS(eval::mqar_accuracy(logits, options(), 0, 4), std::invalid_argument);
  CHECK_THROWS_AS(eval::mqar_accuracy(logits, options(), 4, 0), std::invalid_argument);
}
