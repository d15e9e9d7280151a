// data.kind mqar in the loader: the training windows are the train stream's sequences (each
// once an epoch, in the order seed's permutation), validation reads the eval stream, the loss
// mask marks the answers, and shard keys or too few sequences are errors naming the key.
#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "attnlab/data/loader.h"

using namespace attnlab::data;

namespace {

LoaderOptions mqar_loader(int batch_size = 4) {
  LoaderOptions o;
  o.kind = "mqar";
  o.vocab_size = 101;
  o.batch_size = batch_size;
  o.seq_len = 48;
  o.order_seed = 3;
  o.mqar.pairs = 5;
  o.mqar.queries = 4;
  o.mqar.gaps = {12, 20, 37};
  o.mqar.seed = 11;
  o.mqar.train_sequences = 20;
  o.mqar.val_sequences = 9;
  return o;
}

MqarOptions generator_of(const LoaderOptions& o) {
  MqarOptions m = o.mqar;
  m.seq_len = o.seq_len;
  m.vocab_size = o.vocab_size;
  return m;
}

std::string error_key(const LoaderOptions& o, bool validation) {
  try {
    if (validation)
      ValidationSet v(o);
    else
      TokenLoader t(o);
  } catch (const DataError& e) {
    return e.key();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("an MQAR epoch reads every train sequence once, with its answer mask", "[mqar][loader]") {
  const auto o = mqar_loader();
  const auto m = generator_of(o);
  TokenLoader loader(o);
  REQUIRE(loader.masks_loss());
  REQUIRE(loader.batches_per_epoch() == 5);
  std::set<std::vector<int32_t>> expected, read;
  for (uint64_t n = 0; n < 20; ++n) expected.insert(mqar_sequence(m, MqarSplit::Train, n).tokens);
  const int B = o.batch_size, T = o.seq_len;
  std::vector<int32_t> tokens(B * (T + 1));
  std::vector<uint8_t> mask(B * T);
  for (int k = 0; k < 5; ++k) {
    loader.next(tokens.data(), mask.data());
    for (int b = 0; b < B; ++b) {
      std::vector<int32_t> row(tokens.begin() + b * (T + 1), tokens.begin() + (b + 1) * (T + 1));
      REQUIRE(expected.count(row) == 1);
      read.insert(row);
      int answers = 0;
      for (int t = 0; t < T; ++t) {
        if (!mask[b * T + t]) continue;
        ++answers;
        // A target that counts is a query's answer: a key (ids 1..50) after the context whose
        // pair in the context holds the target.
        REQUIRE(t >= 2 * m.pairs);
        REQUIRE(row[t] >= 1);
        REQUIRE(row[t] <= 50);
        int pair = 0;
        while (pair < m.pairs && row[2 * pair] != row[t]) ++pair;
        REQUIRE(pair < m.pairs);
        REQUIRE(row[2 * pair + 1] == row[t + 1]);
      }
      REQUIRE(answers == m.queries);
    }
  }
  REQUIRE(read == expected);
  REQUIRE(loader.tokens_seen() == uint64_t(5 * B * T));
  REQUIRE(loader.train_tokens() == uint64_t(20 * T));
}

TEST_CASE("MQAR validation reads eval sequences 0.. in order, never train ones", "[mqar][loader]") {
  const auto o = mqar_loader();
  const auto m = generator_of(o);
  ValidationSet val(o);
  REQUIRE(val.masks_loss());
  REQUIRE(val.n_batches() == 2);  // 9 sequences, batches of 4
  const int B = o.batch_size, T = o.seq_len;
  std::vector<int32_t> tokens(B * (T + 1));
  std::vector<uint8_t> mask(B * T);
  for (size_t i = 0; i < 2; ++i) {
    val.batch(i, tokens.data(), mask.data());
    for (int b = 0; b < B; ++b) {
      const auto s = mqar_sequence(m, MqarSplit::Eval, i * B + b);
      REQUIRE(std::vector<int32_t>(tokens.begin() + b * (T + 1),
                                   tokens.begin() + (b + 1) * (T + 1)) == s.tokens);
      for (const auto& q : s.queries) REQUIRE(mask[b * T + q.position] == 1);
    }
  }
  auto none = mqar_loader();
  none.mqar.val_sequences = 0;
  REQUIRE(ValidationSet(none).n_batches() == 0);
}

TEST_CASE("data.kind mqar rejects shard keys and too few sequences by key", "[mqar][loader]") {
  auto o = mqar_loader();
  o.train_files = {"x.bin"};
  CHECK(error_key(o, false) == "data.train_files");
  o = mqar_loader();
  o.val_files = {"x.bin"};
  CHECK(error_key(o, true) == "data.val_files");
  o = mqar_loader();
  o.val_tokens = 512;
  CHECK(error_key(o, true) == "data.val_tokens");
  o = mqar_loader(32);
  CHECK(error_key(o, false) == "data.mqar.train_sequences");
  o = mqar_loader(10);
  CHECK(error_key(o, true) == "data.mqar.val_sequences");
  o = mqar_loader();
  o.mqar.queries = 6;
  CHECK(error_key(o, false) == "data.mqar.queries");
  o = mqar_loader();
  o.kind = "mqr";
  CHECK(error_key(o, false) == "data.kind");
}
