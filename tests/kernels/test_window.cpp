// The window convention (i - w <= j <= i) and the adaptive rule, against brute force.
#include <catch2/catch.hpp>

#include "attnlab/kernels/window.h"

using namespace attnlab::kernels;

TEST_CASE("a window of w sees keys i-w..i, w+1 keys", "[window]") {
  CHECK(key_visible(300, 300, 256));
  CHECK(key_visible(300, 44, 256));         // i - w: just inside
  CHECK_FALSE(key_visible(300, 43, 256));   // i - w - 1: just outside
  CHECK_FALSE(key_visible(300, 301, 256));  // the future
  CHECK(key_visible(300, 0, kDenseWindow));
  CHECK_FALSE(key_visible(3, 4, kDenseWindow));
  CHECK(key_visible(5, 5, 0));
  CHECK_FALSE(key_visible(5, 4, 0));
  int seen = 0;
  for (int64_t j = 0; j <= 1000; ++j) seen += key_visible(1000, j, 256);
  CHECK(seen == 257);
  CHECK(first_visible_key(1000, 256) == 744);
  CHECK(first_visible_key(100, 256) == 0);
  CHECK(first_visible_key(100, kDenseWindow) == 0);
}

TEST_CASE("visible_pairs counts the visible (i, j) pairs", "[window]") {
  for (int64_t T : {0, 1, 2, 7, 100, 257, 600}) {
    for (int64_t w :
         {kDenseWindow, int64_t{0}, int64_t{1}, int64_t{5}, int64_t{256}, int64_t{1000}}) {
      double brute = 0;
      for (int64_t i = 0; i < T; ++i) {
        for (int64_t j = 0; j < T; ++j) brute += key_visible(i, j, w);
      }
      INFO("T=" << T << " w=" << w);
      CHECK(visible_pairs(T, w) == brute);
    }
  }
}

TEST_CASE("the adaptive rule: the window applies only when T > threshold", "[window]") {
  const WindowParams adaptive{256, kDefaultAdaptiveThreshold};
  CHECK(kDefaultAdaptiveThreshold == 512);
  CHECK(window_for_length(adaptive, 512) == kDenseWindow);
  CHECK(window_for_length(adaptive, 513) == 256);
  CHECK(window_for_length(adaptive, 1) == kDenseWindow);
  const WindowParams fixed{256, 0};
  CHECK(window_for_length(fixed, 1) == 256);
  CHECK(window_for_length(fixed, 8192) == 256);
  CHECK(window_for_length(WindowParams{}, 8192) == kDenseWindow);
  CHECK_THROWS_WITH(window_for_length({-5, 0}, 10), Catch::Contains("window must be >= 0"));
  CHECK_THROWS_WITH(window_for_length({8, -1}, 10),
                    Catch::Contains("adaptive_threshold must be >= 0"));
}
