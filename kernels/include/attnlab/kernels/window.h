// The one definition of the attention window used everywhere in attnlab (kernels, plugins,
// tests, FLOPs): query i sees key j iff i - w <= j <= i, so a window of w sees w + 1 keys
// (w = 256 sees 257). kDenseWindow means plain causal attention (every j <= i).
// The adaptive rule of the paper: the window applies only when T > adaptive_threshold.
// Plain integer logic, no LibTorch, so config and report code may include it.
#pragma once
#include <cstdint>

namespace attnlab::kernels {

// "No window": causal attention over every earlier key.
inline constexpr int64_t kDenseWindow = -1;
// The paper's adaptive threshold: the window applies when T > 512, dense attention otherwise.
inline constexpr int64_t kDefaultAdaptiveThreshold = 512;

struct WindowParams {
  int64_t window = kDenseWindow;   // w >= 0, or kDenseWindow
  int64_t adaptive_threshold = 0;  // the window applies only when T > this; 0 = always
};

// The window used for a sequence of length T: params.window when T > adaptive_threshold,
// kDenseWindow otherwise. Throws std::invalid_argument on a negative window (other than
// kDenseWindow), threshold or T.
int64_t window_for_length(const WindowParams& params, int64_t T);

// Whether query i may attend to key j under window w (kDenseWindow: j <= i).
constexpr bool key_visible(int64_t i, int64_t j, int64_t w) {
  return j <= i && (w == kDenseWindow || j >= i - w);
}

// The first key query i sees under window w.
constexpr int64_t first_visible_key(int64_t i, int64_t w) {
  return (w == kDenseWindow || i - w < 0) ? 0 : i - w;
}

// How many (query, key) pairs are visible in a causal sequence of length T under window w:
// sum over i of (i - first_visible_key(i, w) + 1).
double visible_pairs(int64_t T, int64_t w);

}  // namespace attnlab::kernels
