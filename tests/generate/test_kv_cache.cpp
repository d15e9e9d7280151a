// The decoder's KV cache against full recomputation, for every plugin of build/plugins that
// declares decoding, in fp64 on random weights: logits of a prompt, a 3-token chunk and then
// single tokens equal the full forward's over the prefix at those positions; a bounded reach
// keeps a rolling cache that never holds more than kv_reach() + 1 positions and still
// matches; bytes per token and the peak follow from the shapes; a plugin without decoding is
// refused by name.
#include <catch2/catch.hpp>

#include "attnlab/attention_variant.h"
#include "generate_fixture.h"

using namespace attnlab;
using namespace attnlab::test;

namespace {

constexpr int64_t B = 2, kTokens = 24;
// Independent of the cache: K kv heads x head dim 6, keys and values, fp64, per layer.
constexpr int64_t kBytesPerToken = kLayers * 2 * 2 * 6 * 8;

int64_t reach_of(model::Decoder& decoder) {
  return decoder->blocks[0]->as<model::BlockImpl>()->attn->variant->kv_reach();
}

// Feeds ids_BT through the cache in the given chunk sizes (the rest one token at a time) and
// checks each chunk's logits against the full forward over the prefix; after every step,
// each layer keeps what its reach allows.
void check_against_full(model::Decoder& decoder, const torch::Tensor& ids_BT,
                        const std::vector<int64_t>& chunks, model::KVCache& cache) {
  const int64_t T = ids_BT.size(1), reach = reach_of(decoder);
  int64_t t = 0;
  for (size_t c = 0; t < T; ++c) {
    const int64_t n = std::min(T - t, c < chunks.size() ? chunks[c] : int64_t{1});
    const auto cached_BTV = decoder->forward_cached(ids_BT.narrow(1, t, n), cache);
    const auto full_BTV = decoder->forward(ids_BT.narrow(1, 0, t + n)).narrow(1, t, n);
    INFO("positions [" << t << ", " << t + n << "), kv_reach " << reach);
    REQUIRE(cached_BTV.sizes() == full_BTV.sizes());
    CHECK((cached_BTV - full_BTV).abs().max().item<double>() < 1e-10);
    t += n;
    CHECK(cache.position() == t);
    for (int64_t l = 0; l < cache.n_layer(); ++l) {
      const int64_t kept = cache.layer(l).kept_positions();
      CHECK(kept == (reach == kUnboundedReach ? t : std::min(t, reach)));
    }
  }
}

}  // namespace

TEST_CASE("every decoding plugin: cached logits equal full recomputation", "[generate]") {
  torch::NoGradGuard no_grad;
  for (const auto& name : built_plugins().available()) {
    const auto& p = built_plugins().load(name);
    for (const auto& options : decoding_option_sets(p)) {
      DYNAMIC_SECTION(name << " " << options.dump()) {
        auto decoder = small_decoder(p, options);
        if (!decoder->blocks[0]->as<model::BlockImpl>()->attn->variant->supports_decoding()) {
          REQUIRE_THROWS_WITH(
              decoder->make_kv_cache(name),
              Catch::Contains("'" + name + "'") && Catch::Contains("does not support decoding"));
          continue;
        }
        torch::manual_seed(99);
        const auto ids_BT = random_ids_BT(B, kTokens);
        auto chunked = decoder->make_kv_cache(name);  // a 7-token prompt, 3 tokens, then 1s
        check_against_full(decoder, ids_BT, {7, 3}, chunked);

        auto stepped = decoder->make_kv_cache(name);  // one token at a time, as generate does
        check_against_full(decoder, ids_BT, {}, stepped);
        const int64_t reach = reach_of(decoder);
        const int64_t held = reach == kUnboundedReach ? kTokens : std::min(kTokens, reach + 1);
        CHECK(stepped.is_rolling() == (reach != kUnboundedReach));
        CHECK(stepped.bytes_per_token() == kBytesPerToken);
        for (int64_t l = 0; l < stepped.n_layer(); ++l) {
          CHECK(stepped.layer(l).peak_positions() == held);
        }
        CHECK(stepped.peak_bytes() == B * held * kBytesPerToken);
      }
    }
  }
}

TEST_CASE("the seed systems decode; windows at every length without sinks roll", "[generate]") {
  // Guards the test above: a plugin missing from the build, losing decoding or its bounded
  // reach would otherwise pass unnoticed.
  for (const char* name : {"dense", "fixed_window", "gated_window", "dma", "sink_window"}) {
    INFO(name);
    const auto& p = built_plugins().load(name);
    for (const auto& options : decoding_option_sets(p)) {
      auto decoder = small_decoder(p, options);
      const auto cache = decoder->make_kv_cache(name);
      // a window at every length and no sinks bounds the reach (plugins/common/options.h)
      const auto completed = p.complete_options(options);
      const int64_t window = completed.value("window", int64_t{-1});
      const bool windowed = window >= 0 && completed.value("adaptive_threshold", 0) == 0 &&
                            completed.value("sinks", 0) == 0;
      INFO(completed.dump());
      CHECK(cache.is_rolling() == windowed);
      if (windowed) CHECK(cache.layer(0).reach() == window);
    }
  }
}

TEST_CASE("forward_cached refuses a cache of another depth", "[generate]") {
  auto decoder = small_decoder(built_plugins().load("dense"), nlohmann::json::object());
  model::KVCache cache({kUnboundedReach});
  REQUIRE_THROWS_WITH(decoder->forward_cached(random_ids_BT(1, 2), cache),
                      Catch::Contains("make_kv_cache"));
}
