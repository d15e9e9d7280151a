// Naive reference for the CUDA windowed attention test: full score rows, the visibility of
// every (query, key) pair from window.h, k and v read per group, forward and the exact
// backward written out by hand. Plain host C++ on doubles; `round` is applied after every
// operation that a low-precision implementation would round (identity gives the fp64
// reference, rounding to bf16 gives "the same reference computed in bf16").
//
// Layouts (contiguous): q, o, y, dy, dq [B, H, T, D]; k, v, dk, dv [B, K, T, D]; gate, dgate
// [B, T, H]; lse [B, H, T].
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attnlab/kernels/window.h"

namespace attnlab::test {

struct NaiveShape {
  int64_t B, H, K, T, D, window;
  double scale;
};

struct NaiveInputs {
  std::vector<double> q, k, v, gate, dy;  // gate empty: no gate
};

struct NaiveOutputs {
  std::vector<double> o, y, lse, dq, dk, dv, dgate;
};

template <class Round>
NaiveOutputs naive_windowed_attention(const NaiveShape& s, const NaiveInputs& in, Round round) {
  const bool gated = !in.gate.empty();
  const int64_t G = s.H / s.K, T = s.T, D = s.D;
  NaiveOutputs out;
  out.o.assign(s.B * s.H * T * D, 0.0);
  out.y = out.o;
  out.dq = out.o;
  out.lse.assign(s.B * s.H * T, 0.0);
  out.dgate.assign(gated ? s.B * T * s.H : 0, 0.0);
  std::vector<double> dk_acc(s.B * s.K * T * D, 0.0), dv_acc(dk_acc.size(), 0.0);
  std::vector<double> p(T), dp(T), d_o(D);

  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t h = 0; h < s.H; ++h) {
      const int64_t kh = h / G;
      const double* q = &in.q[(b * s.H + h) * T * D];
      const double* k = &in.k[(b * s.K + kh) * T * D];
      const double* v = &in.v[(b * s.K + kh) * T * D];
      const double* dy = &in.dy[(b * s.H + h) * T * D];
      for (int64_t i = 0; i < T; ++i) {
        // Forward: scores, softmax, output.
        double row_max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < T; ++j) {
          p[j] = -std::numeric_limits<double>::infinity();
          if (!kernels::key_visible(i, j, s.window)) continue;
          double dot = 0.0;
          for (int64_t d = 0; d < D; ++d) dot += q[i * D + d] * k[j * D + d];
          p[j] = round(round(dot) * s.scale);
          row_max = std::max(row_max, p[j]);
        }
        double row_sum = 0.0;
        for (int64_t j = 0; j < T; ++j) {
          p[j] = std::exp(p[j] - row_max);  // exp(-inf) = 0 for hidden keys
          row_sum += p[j];
        }
        out.lse[(b * s.H + h) * T + i] = row_max + std::log(row_sum);
        for (int64_t j = 0; j < T; ++j) p[j] = round(p[j] / row_sum);
        const int64_t row = ((b * s.H + h) * T + i) * D;
        const double g = gated ? in.gate[(b * T + i) * s.H + h] : 1.0;
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0.0;
          for (int64_t j = 0; j < T; ++j) acc += p[j] * v[j * D + d];
          out.o[row + d] = round(acc);
          out.y[row + d] = round(out.o[row + d] * g);
        }

        // Backward: y = o·g, o = p·v, p = softmax(s), s = scale·q·kᵀ.
        double dg = 0.0;
        for (int64_t d = 0; d < D; ++d) {
          dg += dy[i * D + d] * out.o[row + d];
          d_o[d] = gated ? round(dy[i * D + d] * g) : dy[i * D + d];
        }
        if (gated) out.dgate[(b * T + i) * s.H + h] = round(dg);
        double p_dot_dp = 0.0;
        for (int64_t j = 0; j < T; ++j) {
          double dot = 0.0;
          for (int64_t d = 0; d < D; ++d) dot += d_o[d] * v[j * D + d];
          dp[j] = round(dot);
          p_dot_dp += p[j] * dp[j];
        }
        const int64_t kv_row = (b * s.K + kh) * T * D;
        for (int64_t j = 0; j < T; ++j) {
          if (!kernels::key_visible(i, j, s.window)) continue;
          const double ds = round(p[j] * (dp[j] - p_dot_dp));
          for (int64_t d = 0; d < D; ++d) {
            dv_acc[kv_row + j * D + d] += p[j] * d_o[d];
            dk_acc[kv_row + j * D + d] += s.scale * ds * q[i * D + d];
            out.dq[row + d] += s.scale * ds * k[j * D + d];
          }
        }
        for (int64_t d = 0; d < D; ++d) out.dq[row + d] = round(out.dq[row + d]);
      }
    }
  }
  out.dk.resize(dk_acc.size());
  out.dv.resize(dv_acc.size());
  for (size_t n = 0; n < dk_acc.size(); ++n) {
    out.dk[n] = round(dk_acc[n]);
    out.dv[n] = round(dv_acc[n]);
  }
  return out;
}

}  // namespace attnlab::test
