// The window convention and the adaptive rule (see window.h).
#include "attnlab/kernels/window.h"

#include <stdexcept>
#include <string>

namespace attnlab::kernels {

int64_t window_for_length(const WindowParams& params, int64_t T) {
  if (params.window < 0 && params.window != kDenseWindow) {
    throw std::invalid_argument("attention window must be >= 0 (or dense), got " +
                                std::to_string(params.window));
  }
  if (params.adaptive_threshold < 0) {
    throw std::invalid_argument(
        "attention adaptive_threshold must be >= 0 (0 = always windowed), got " +
        std::to_string(params.adaptive_threshold));
  }
  if (T < 0) throw std::invalid_argument("sequence length must be >= 0, got " + std::to_string(T));
  return T > params.adaptive_threshold ? params.window : kDenseWindow;
}

double visible_pairs(int64_t T, int64_t w) {
  if (T <= 0) return 0.0;
  const double n = static_cast<double>(T);
  if (w == kDenseWindow || w >= T - 1) return n * (n + 1.0) / 2.0;
  // Rows 0..w see i + 1 keys (a triangle), rows w+1..T-1 see w + 1 keys each.
  const double wd = static_cast<double>(w);
  return (wd + 1.0) * (wd + 2.0) / 2.0 + (n - wd - 1.0) * (wd + 1.0);
}

}  // namespace attnlab::kernels
