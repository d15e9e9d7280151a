// FLOPs accounting (conventions in flops.h).
#include "attnlab/kernels/flops.h"

#include "attnlab/kernels/window.h"

namespace attnlab::kernels {

FlopCount attention_flops(int64_t T, int64_t window, int64_t n_head, int64_t head_dim) {
  const double forward =
      4.0 * static_cast<double>(head_dim) * static_cast<double>(n_head) * visible_pairs(T, window);
  return {forward, 2.5 * forward};
}

FlopCount head_gate_flops(int64_t T, int64_t d_model, int64_t n_head, int64_t head_dim) {
  const double t = static_cast<double>(T), c = static_cast<double>(d_model);
  const double h = static_cast<double>(n_head), d = static_cast<double>(head_dim);
  return {2.0 * t * c * h + t * h * d, 4.0 * t * c * h + 2.0 * t * h * d};
}

}  // namespace attnlab::kernels
