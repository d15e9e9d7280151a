// TokenLoader and ValidationSet against a naive model of the stream: every row is a (T+1)
// window at a multiple of T of the concatenated shards, ranks are disjoint, an epoch covers
// distinct windows, resuming continues exactly, validation is fixed and held out.
#include <catch2/catch.hpp>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "attnlab/data/loader.h"
#include "attnlab/data/shard.h"
#include "test_helpers.h"

using namespace attnlab::data;
using namespace attnlab::test;

namespace {

// Several shards of random tokens, and their concatenation as the naive reference stream.
struct Corpus {
  static inline int count = 0;
  TempDir dir{"loader" + std::to_string(count++)};
  std::vector<std::string> files;
  std::vector<uint32_t> stream;
  Corpus(std::vector<size_t> sizes, uint32_t vocab, uint64_t seed) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      auto t = random_tokens(sizes[i], vocab, seed + i);
      const int bytes = vocab <= 65536 ? 2 : 4;
      files.push_back(dir.file("part_" + std::to_string(i) + ".bin"));
      write_raw_shard(files.back(),
                      {bytes == 2 ? 20240520 : 20240801, bytes == 2 ? 1 : 7, int32_t(t.size())}, t,
                      bytes);
      stream.insert(stream.end(), t.begin(), t.end());
    }
  }
  // The window index w such that row == stream[begin + w*T, begin + w*T + T + 1); -1 if none.
  long window_of(const int32_t* row, uint64_t begin, int T) const {
    for (uint64_t off = begin; off + T + 1 <= stream.size(); off += T) {
      if (std::equal(row, row + T + 1, stream.begin() + off,
                     [](int32_t a, uint32_t b) { return uint32_t(a) == b; }))
        return long((off - begin) / T);
    }
    return -1;
  }
};

LoaderOptions options_for(const Corpus& c, int B, int T, uint32_t vocab) {
  LoaderOptions o;
  o.train_files = c.files;
  o.vocab_size = vocab;
  o.batch_size = B;
  o.seq_len = T;
  o.seed = 1234;
  return o;
}

std::vector<int32_t> take(TokenLoader& l, int B, int T) {
  std::vector<int32_t> b(size_t(B) * (T + 1));
  l.next(b.data());
  return b;
}

}  // namespace

TEST_CASE("rows are windows of the shard stream; an epoch visits distinct windows", "[loader]") {
  const uint32_t vocab = 50257;
  Corpus c({3001, 517, 4200}, vocab, 11);  // windows cross shard boundaries
  const int B = 3, T = 32;
  auto o = options_for(c, B, T, vocab);
  TokenLoader loader(o);
  const uint64_t n_windows = (c.stream.size() - 1) / T;
  CHECK(loader.batches_per_epoch() == n_windows / B);
  CHECK(loader.train_tokens() == c.stream.size());
  std::set<long> seen;
  for (uint64_t k = 0; k < loader.batches_per_epoch(); ++k) {
    auto batch = take(loader, B, T);
    for (int b = 0; b < B; ++b) {
      long w = c.window_of(batch.data() + b * (T + 1), 0, T);
      REQUIRE(w >= 0);
      REQUIRE(seen.insert(w).second);
    }
  }
  CHECK(seen.size() == loader.batches_per_epoch() * B);
  CHECK(loader.tokens_seen() == loader.batches_per_epoch() * B * T);
  // Not the identity order: the windows are shuffled.
  TokenLoader again(o);
  auto first = take(again, B, T);
  std::vector<long> order;
  for (int b = 0; b < B; ++b) order.push_back(c.window_of(first.data() + b * (T + 1), 0, T));
  CHECK(order != std::vector<long>{0, 1, 2});
}

TEST_CASE("the same seed gives the same batches, another seed others", "[loader]") {
  Corpus c({6000}, 50257, 3);
  auto o = options_for(c, 2, 16, 50257);
  TokenLoader a(o), b(o);
  o.seed = 99;
  TokenLoader other(o);
  bool any_difference = false;
  for (int k = 0; k < 20; ++k) {
    auto x = take(a, 2, 16), y = take(b, 2, 16), z = take(other, 2, 16);
    REQUIRE(x == y);
    any_difference |= (x != z);
  }
  CHECK(any_difference);
}

TEST_CASE("ranks read disjoint streams of equal length", "[loader]") {
  Corpus c({9000}, 50257, 5);
  const int B = 2, T = 24, W = 3;
  std::set<long> all;
  uint64_t per_rank = 0;
  for (int r = 0; r < W; ++r) {
    auto o = options_for(c, B, T, 50257);
    o.rank = r;
    o.world_size = W;
    TokenLoader l(o);
    per_rank = l.batches_per_epoch();
    CHECK(per_rank == ((c.stream.size() - 1) / T) / (B * W));
    for (uint64_t k = 0; k < per_rank; ++k) {
      auto batch = take(l, B, T);
      for (int b = 0; b < B; ++b)
        REQUIRE(all.insert(c.window_of(&batch[b * (T + 1)], 0, T)).second);
    }
  }
  CHECK(all.size() == per_rank * B * W);
}

TEST_CASE("seek to a saved position continues with exactly the next batch", "[loader]") {
  Corpus c({2500}, 50257, 9);
  const int B = 2, T = 20;
  auto o = options_for(c, B, T, 50257);
  TokenLoader run(o);
  const uint64_t per_epoch = run.batches_per_epoch();
  // Save in the middle of epoch 0 and again just before epoch 1 wraps to 2.
  for (uint64_t stop : {per_epoch / 2, 2 * per_epoch - 1}) {
    TokenLoader first(o);
    std::ostringstream sink;
    auto* old = std::cerr.rdbuf(sink.rdbuf());
    for (uint64_t k = 0; k < stop; ++k) take(first, B, T);
    const LoaderPosition saved = first.position();
    std::vector<std::vector<int32_t>> continued;
    for (int k = 0; k < 4; ++k) continued.push_back(take(first, B, T));
    TokenLoader resumed(o);
    resumed.seek(saved);
    CHECK(resumed.tokens_seen() == stop * B * T);
    for (int k = 0; k < 4; ++k) REQUIRE(take(resumed, B, T) == continued[k]);
    std::cerr.rdbuf(old);
  }
  LoaderPosition bad{0, per_epoch + 1};
  CHECK_THROWS_WITH(run.seek(bad), Catch::Contains("past the end of an epoch"));
}

TEST_CASE("epochs reshuffle and wrapping warns once on stderr", "[loader]") {
  Corpus c({1000}, 50257, 13);
  auto o = options_for(c, 1, 16, 50257);
  TokenLoader l(o);
  std::vector<std::vector<int32_t>> epoch0, epoch1;
  std::ostringstream sink;
  auto* old = std::cerr.rdbuf(sink.rdbuf());
  for (uint64_t k = 0; k < l.batches_per_epoch(); ++k) epoch0.push_back(take(l, 1, 16));
  CHECK(sink.str().empty());
  for (uint64_t k = 0; k < l.batches_per_epoch(); ++k) epoch1.push_back(take(l, 1, 16));
  for (uint64_t k = 0; k < l.batches_per_epoch(); ++k) take(l, 1, 16);
  std::cerr.rdbuf(old);
  CHECK(l.epoch() == 2);
  CHECK(epoch0 != epoch1);
  std::sort(epoch0.begin(), epoch0.end());
  std::sort(epoch1.begin(), epoch1.end());
  CHECK(epoch0 == epoch1);  // 1000 tokens, T=16, B=1: all 62 windows each epoch
  const std::string warned = sink.str();
  CHECK_THAT(warned, Catch::Contains("repeats data"));
  CHECK(warned.find("repeats data") == warned.rfind("repeats data"));  // once
}

TEST_CASE("validation: held out from the train stream, fixed, never trained on", "[loader]") {
  Corpus c({5000}, 50257, 21);
  const int B = 2, T = 16;
  auto o = options_for(c, B, T, 50257);
  o.val_tokens = 1000;
  ValidationSet val(o);
  const uint64_t windows = (1000 - 1) / T;
  REQUIRE(val.n_batches() == windows / B);
  std::vector<int32_t> x(B * (T + 1)), y(B * (T + 1));
  for (size_t i = 0; i < val.n_batches(); ++i) {
    val.batch(i, x.data());
    val.batch(i, y.data());
    REQUIRE(x == y);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t <= T; ++t)
        REQUIRE(uint32_t(x[b * (T + 1) + t]) == c.stream[(i * B + b) * T + t]);
  }
  TokenLoader train(o);
  CHECK(train.train_tokens() == 4000);
  for (uint64_t k = 0; k < train.batches_per_epoch(); ++k) {
    auto batch = take(train, B, T);
    for (int b = 0; b < B; ++b) REQUIRE(c.window_of(&batch[b * (T + 1)], 1000, T) >= 0);
  }
  CHECK_THROWS_AS(val.batch(val.n_batches(), x.data()), DataError);
}

TEST_CASE("validation from separate val files, split across ranks", "[loader]") {
  Corpus train({3000}, 151669, 31), valc({2000}, 151669, 41);  // uint32 shards
  const int B = 2, T = 10;
  std::set<std::vector<int32_t>> rows;
  for (int r = 0; r < 2; ++r) {
    auto o = options_for(train, B, T, 151669);
    o.val_files = valc.files;
    o.val_tokens = 1500;
    o.rank = r;
    o.world_size = 2;
    ValidationSet val(o);
    REQUIRE(val.n_batches() == (1499 / T) / B / 2);
    std::vector<int32_t> x(B * (T + 1));
    for (size_t i = 0; i < val.n_batches(); ++i) {
      val.batch(i, x.data());
      for (int b = 0; b < B; ++b) {
        std::vector<int32_t> row(&x[b * (T + 1)], &x[(b + 1) * (T + 1)]);
        REQUIRE(valc.window_of(row.data(), 0, T) == long((i * 2 + r) * B + b));
        rows.insert(row);
      }
    }
    TokenLoader l(o);
    CHECK(l.train_tokens() == 3000);  // nothing held out of train when val_files are given
  }
  CHECK(rows.size() == 2 * size_t((1499 / T) / B / 2) * B);
}

TEST_CASE("the reference FineWeb shard feeds the loader", "[loader]") {
  LoaderOptions o;
  o.train_files = {kReferenceShard};
  o.vocab_size = 50257;
  o.batch_size = 4;
  o.seq_len = 64;
  o.val_tokens = 16384;
  TokenLoader l(o);
  ValidationSet v(o);
  const auto naive = read_raw_u16_shard(kReferenceShard);
  CHECK(l.train_tokens() == 216090 - 16384);
  CHECK(v.n_batches() == (16383 / 64) / 4);
  std::vector<int32_t> b(4 * 65);
  l.next(b.data());
  for (int r = 0; r < 4; ++r) {
    bool found = false;
    for (size_t off = 16384; off + 65 <= naive.size() && !found; off += 64)
      found = std::equal(&b[r * 65], &b[r * 65 + 65], naive.begin() + off,
                         [](int32_t a, uint32_t x) { return uint32_t(a) == x; });
    CHECK(found);
  }
}

TEST_CASE("glob patterns expand sorted; bad loader input is a clear error", "[loader][errors]") {
  Corpus c({400, 400, 400}, 1000, 51);
  auto o = options_for(c, 1, 8, 1000);
  o.train_files = {c.dir.file("part_*.bin")};
  CHECK(expand_file_patterns(o.train_files, "k") == c.files);
  TokenLoader globbed(o);
  CHECK(globbed.train_tokens() == 1200);

  SECTION("no file matches") {
    o.train_files = {c.dir.file("nothing_*.bin")};
    CHECK_THROWS_WITH(TokenLoader(o),
                      Catch::Contains("data.train_files") && Catch::Contains("matches no file"));
  }
  SECTION("token id at or above vocab_size names file and offset") {
    o.vocab_size = 500;  // the corpus has ids up to 999
    TokenLoader l(o);
    std::vector<int32_t> b(9);
    CHECK_THROWS_WITH(l.next(b.data()), Catch::Contains("part_") && Catch::Contains("at offset") &&
                                            Catch::Contains(">= data.vocab_size 500"));
  }
  SECTION("too little data for one batch") {
    o.batch_size = 200;
    CHECK_THROWS_WITH(TokenLoader(o), Catch::Contains("too few for one batch"));
  }
  SECTION("validation budget larger than the data") {
    o.val_tokens = 5000;
    CHECK_THROWS_WITH(ValidationSet(o), Catch::Contains("exceeds"));
  }
  SECTION("validation budget below one batch") {
    o.val_tokens = 5;
    CHECK_THROWS_WITH(ValidationSet(o), Catch::Contains("at least 9"));
  }
  SECTION("bad rank, empty file list, missing vocab size") {
    o.rank = 2;
    CHECK_THROWS_WITH(TokenLoader(o), Catch::Contains("rank 2"));
    o.rank = 0;
    o.vocab_size = 0;
    CHECK_THROWS_WITH(TokenLoader(o), Catch::Contains("vocab_size"));
    o.train_files.clear();
    CHECK_THROWS_WITH(TokenLoader(o), Catch::Contains("train_files is empty"));
  }
  SECTION("a uint16 shard under a vocabulary above 65536") {
    o.vocab_size = 151669;
    CHECK_THROWS_WITH(TokenLoader(o), Catch::Contains("another tokenizer"));
  }
}
