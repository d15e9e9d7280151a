// TokenLoader and ValidationSet against a naive model of the stream: every row is a (T+1)
// window at a multiple of T of the concatenated shards; an epoch reads each window at most once
// (exactly once when B*W divides the count) in the order core/data/window_order.h specifies,
// drawn from (order_seed, epoch); ranks split each global batch; resuming continues exactly;
// validation is fixed, held out and independent of the order seed.
#include <algorithm>
#include <catch2/catch.hpp>
#include <iostream>
#include <iterator>
#include <numeric>
#include <random>
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
  // The windows of the rows of one batch, in row order; REQUIREs each row to be a window.
  std::vector<long> windows_of(const std::vector<int32_t>& batch, int T) const {
    std::vector<long> w;
    for (size_t r = 0; r < batch.size() / (T + 1); ++r) {
      w.push_back(window_of(&batch[r * (T + 1)], 0, T));
      REQUIRE(w.back() >= 0);
    }
    return w;
  }
};

LoaderOptions options_for(const Corpus& c, int B, int T, uint32_t vocab) {
  LoaderOptions o;
  o.train_files = c.files;
  o.vocab_size = vocab;
  o.batch_size = B;
  o.seq_len = T;
  o.order_seed = 1234;
  return o;
}

// An order seed drawn afresh each run, in the range of data.order_seed (logged on failure).
uint64_t fresh_order_seed() { return uint32_t(std::random_device{}()); }

std::vector<int32_t> take(TokenLoader& l, int B, int T) {
  std::vector<int32_t> b(size_t(B) * (T + 1));
  l.next(b.data());
  return b;
}

// The windows one epoch of `l` reads, in reading order (the epoch-wrap warning silenced).
std::vector<long> read_epoch(TokenLoader& l, const Corpus& c, int B, int T) {
  std::ostringstream quiet;
  auto* old = std::cerr.rdbuf(quiet.rdbuf());
  std::vector<long> order;
  for (uint64_t k = 0; k < l.batches_per_epoch(); ++k) {
    const auto w = c.windows_of(take(l, B, T), T);
    order.insert(order.end(), w.begin(), w.end());
  }
  std::cerr.rdbuf(old);
  return order;
}

std::vector<long> sorted(std::vector<long> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<long> all_windows(uint64_t n) {
  std::vector<long> v(n);
  std::iota(v.begin(), v.end(), 0L);
  return v;
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
  const auto order = read_epoch(loader, c, B, T);
  CHECK(std::set<long>(order.begin(), order.end()).size() == order.size());
  CHECK(order.size() == loader.batches_per_epoch() * B);
  CHECK(loader.tokens_seen() == loader.batches_per_epoch() * B * T);
  CHECK(std::vector<long>(order.begin(), order.begin() + 3) != std::vector<long>{0, 1, 2});
}

TEST_CASE("each epoch reads every window exactly once, in a new order each epoch", "[loader]") {
  const int B = 2, T = 16;
  Corpus c({40 * T + 1}, 50257, 3);  // 40 windows: B divides the count, nothing left over
  auto o = options_for(c, B, T, 50257);
  o.order_seed = fresh_order_seed();
  INFO("order_seed " << o.order_seed);
  TokenLoader l(o);
  std::vector<std::vector<long>> epochs;
  for (int e = 0; e < 3; ++e) {
    epochs.push_back(read_epoch(l, c, B, T));
    CHECK(sorted(epochs.back()) == all_windows(40));
  }
  CHECK(epochs[0] != epochs[1]);
  CHECK(epochs[1] != epochs[2]);
}

TEST_CASE("with windows left over, an epoch reads distinct windows and leaves others out",
          "[loader]") {
  const int B = 3, T = 8;
  Corpus c({41 * T + 5}, 50257, 17);  // 41 windows, 13 batches of 3: 2 left over an epoch
  auto o = options_for(c, B, T, 50257);
  o.order_seed = fresh_order_seed();
  INFO("order_seed " << o.order_seed);
  TokenLoader l(o);
  REQUIRE(l.batches_per_epoch() == 13);
  std::set<std::vector<long>> left_over_sets;
  for (int e = 0; e < 4; ++e) {
    const auto read = sorted(read_epoch(l, c, B, T));
    REQUIRE(std::set<long>(read.begin(), read.end()).size() == 39);
    std::vector<long> left;
    const auto all = all_windows(41);
    std::set_difference(all.begin(), all.end(), read.begin(), read.end(), std::back_inserter(left));
    CHECK(left.size() == 2);
    left_over_sets.insert(left);
  }
  CHECK(left_over_sets.size() > 1);  // all four equal: probability (1/820)^3
}

TEST_CASE("the same order_seed gives the same batches; another, the same windows reordered",
          "[loader]") {
  const int B = 2, T = 16;
  Corpus c({30 * T + 1}, 50257, 23);
  auto o = options_for(c, B, T, 50257);
  o.order_seed = fresh_order_seed();
  INFO("order_seed " << o.order_seed);
  TokenLoader a(o), b(o);
  o.order_seed = (o.order_seed + 1 + fresh_order_seed() % 1000) % (uint64_t{1} << 32);
  INFO("other order_seed " << o.order_seed);
  TokenLoader other(o);
  for (int e = 0; e < 2; ++e) {
    const auto x = read_epoch(a, c, B, T), y = read_epoch(b, c, B, T);
    const auto z = read_epoch(other, c, B, T);
    REQUIRE(x == y);
    CHECK(x != z);
    CHECK(sorted(x) == all_windows(30));
    CHECK(sorted(z) == all_windows(30));
  }
}

// The order window_order.h specifies, computed independently in Python (arbitrary-precision
// integers masked to 64 bits), so any compiler and standard library must reproduce it:
//   M = 2**64 - 1
//   def order(n, seed, epoch):
//     s = (seed * 0x9E3779B97F4A7C15 ^ (epoch + 1) * 0xD1B54A32D192ED03) & M
//     def nxt():
//       nonlocal s; s = (s + 0x9E3779B97F4A7C15) & M; z = s
//       z = ((z ^ z >> 30) * 0xBF58476D1CE4E5B9) & M; z = ((z ^ z >> 27) * 0x94D049BB133111EB) & M
//       return z ^ z >> 31
//     p = list(range(n))
//     for k in range(n, 1, -1):
//       x = nxt()
//       while x >= M - M % k: x = nxt()
//       p[k - 1], p[x % k] = p[x % k], p[k - 1]
//     return p
// (its generator gives 6457827717110365317, 3203168211198807973, ... from state 1234567, the
// published splitmix64 test vector).
TEST_CASE("the window order is the specified splitmix64 Fisher-Yates on every platform",
          "[loader]") {
  const int T = 8;
  Corpus c({12 * T + 1}, 50257, 29);
  auto o = options_for(c, 1, T, 50257);
  o.order_seed = 7;
  TokenLoader seven(o);
  CHECK(read_epoch(seven, c, 1, T) == std::vector<long>{3, 0, 1, 11, 8, 2, 6, 10, 9, 5, 4, 7});
  CHECK(read_epoch(seven, c, 1, T) == std::vector<long>{8, 6, 4, 3, 2, 10, 7, 5, 9, 1, 11, 0});
  o.order_seed = 4294967295;  // the largest data.order_seed
  TokenLoader largest(o);
  CHECK(read_epoch(largest, c, 1, T) == std::vector<long>{7, 0, 6, 3, 5, 9, 2, 11, 8, 10, 1, 4});
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
    for (const long w : read_epoch(l, c, B, T)) REQUIRE(all.insert(w).second);
  }
  CHECK(all.size() == per_rank * B * W);
}

TEST_CASE("ranks 0 and 1 of two split the batch one rank with twice the rows reads", "[loader]") {
  const int B = 3, T = 12;
  Corpus c({2000}, 50257, 37);  // 166 windows: 27 global batches of 6, 4 left over
  auto o = options_for(c, 2 * B, T, 50257);
  o.order_seed = fresh_order_seed();
  INFO("order_seed " << o.order_seed);
  TokenLoader single(o);
  o.batch_size = B;
  o.world_size = 2;
  TokenLoader rank0(o);
  o.rank = 1;
  TokenLoader rank1(o);
  REQUIRE(rank0.batches_per_epoch() == single.batches_per_epoch());
  std::ostringstream quiet;
  auto* old = std::cerr.rdbuf(quiet.rdbuf());
  for (uint64_t k = 0; k < 2 * single.batches_per_epoch(); ++k) {  // two epochs
    const auto whole = c.windows_of(take(single, 2 * B, T), T);
    const auto w0 = c.windows_of(take(rank0, B, T), T), w1 = c.windows_of(take(rank1, B, T), T);
    std::set<long> s0(w0.begin(), w0.end()), s1(w1.begin(), w1.end());
    std::set<long> both;
    std::set_intersection(s0.begin(), s0.end(), s1.begin(), s1.end(),
                          std::inserter(both, both.end()));
    REQUIRE(both.empty());
    s0.insert(s1.begin(), s1.end());
    REQUIRE(s0 == std::set<long>(whole.begin(), whole.end()));
  }
  std::cerr.rdbuf(old);
}

TEST_CASE("a loader restored from a saved position yields the uninterrupted batches", "[loader]") {
  Corpus c({2500}, 50257, 9);
  const int B = 2, T = 20;
  auto o = options_for(c, B, T, 50257);
  o.order_seed = fresh_order_seed();
  o.rank = 1;
  o.world_size = 2;
  INFO("order_seed " << o.order_seed);
  TokenLoader run(o);
  const uint64_t per_epoch = run.batches_per_epoch();
  std::ostringstream sink;
  auto* old = std::cerr.rdbuf(sink.rdbuf());
  std::vector<std::vector<int32_t>> uninterrupted;  // three epochs
  for (uint64_t k = 0; k < 3 * per_epoch; ++k) uninterrupted.push_back(take(run, B, T));
  // Saved mid epoch 0, at the end of epoch 0 (before the wrap) and mid epoch 1.
  for (uint64_t stop : {per_epoch / 2, per_epoch, per_epoch + per_epoch / 3}) {
    INFO("saved after " << stop << " batches");
    TokenLoader first(o);
    for (uint64_t k = 0; k < stop; ++k) take(first, B, T);
    const LoaderPosition saved = first.position();
    TokenLoader resumed(o);
    resumed.seek(saved);
    CHECK(resumed.tokens_seen() == stop * B * T);
    for (uint64_t k = stop; k < uninterrupted.size(); ++k)
      REQUIRE(take(resumed, B, T) == uninterrupted[k]);
  }
  std::cerr.rdbuf(old);
  LoaderPosition bad{0, per_epoch + 1};
  CHECK_THROWS_WITH(run.seek(bad), Catch::Contains("past the end of an epoch"));
}

TEST_CASE("wrapping into the next epoch warns once on stderr", "[loader]") {
  Corpus c({1000}, 50257, 13);
  auto o = options_for(c, 1, 16, 50257);
  TokenLoader l(o);
  std::ostringstream sink;
  auto* old = std::cerr.rdbuf(sink.rdbuf());
  for (uint64_t k = 0; k < l.batches_per_epoch(); ++k) take(l, 1, 16);
  CHECK(sink.str().empty());
  for (uint64_t k = 0; k < 2 * l.batches_per_epoch(); ++k) take(l, 1, 16);
  std::cerr.rdbuf(old);
  CHECK(l.epoch() == 2);
  const std::string warned = sink.str();
  CHECK_THAT(warned, Catch::Contains("repeats data"));
  CHECK(warned.find("repeats data") == warned.rfind("repeats data"));  // once
}

TEST_CASE("validation: held out, fixed, not shuffled by the order seed, never trained on",
          "[loader]") {
  Corpus c({5000}, 50257, 21);
  const int B = 2, T = 16;
  auto o = options_for(c, B, T, 50257);
  o.val_tokens = 1000;
  o.order_seed = fresh_order_seed();
  INFO("order_seed " << o.order_seed);
  ValidationSet val(o);
  auto other_order = o;
  other_order.order_seed = o.order_seed + 1;
  ValidationSet val_other(other_order);
  const uint64_t windows = (1000 - 1) / T;
  REQUIRE(val.n_batches() == windows / B);
  std::vector<int32_t> x(B * (T + 1)), y(B * (T + 1)), z(B * (T + 1));
  for (size_t i = 0; i < val.n_batches(); ++i) {
    val.batch(i, x.data());
    val.batch(i, y.data());
    val_other.batch(i, z.data());
    REQUIRE(x == y);
    REQUIRE(x == z);
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
