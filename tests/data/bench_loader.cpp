// Loader overhead (hidden from the default run): microseconds per TokenLoader::next() batch at
// the smoke shape (B=4, T=768) and at a GPU shape (B=64, T=1024) over the reference shard.
//   attnlab_test_data "[bench]"
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <sstream>

#include "attnlab/data/loader.h"
#include "test_helpers.h"

using namespace attnlab::data;

TEST_CASE("loader overhead per batch", "[.][bench]") {
  for (auto [B, T] : {std::pair{4, 768}, std::pair{64, 1024}}) {
    LoaderOptions o;
    o.train_files = {attnlab::test::kReferenceShard};
    o.vocab_size = 50257;
    o.batch_size = B;
    o.seq_len = T;
    TokenLoader loader(o);
    std::vector<int32_t> batch(size_t(B) * (T + 1));
    const int n = 2000;
    std::ostringstream quiet;  // the epoch-wrap warning
    auto* old = std::cerr.rdbuf(quiet.rdbuf());
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) loader.next(batch.data());
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
        n;
    std::cerr.rdbuf(old);
    std::cout << "loader B=" << B << " T=" << T << ": " << us << " us per batch\n";
    CHECK(us > 0);
  }
}
