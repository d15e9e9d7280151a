// bench_attention_row: one attention op's time and memory, measured in fresh processes.
#include "attnlab/bench/attention_bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "attnlab/attention_variant.h"
#include "attnlab/bench/fresh_process.h"

namespace attnlab::bench {

namespace {

struct Measurement {
  double median_s = 0, peak_mib = 0, extra_mib = 0;
};

attnlab_layer_dims dims_of(const AttentionShape& s) {
  return {s.heads * s.head_dim, s.heads, s.kv_heads, s.head_dim, 1, 0};
}

// Runs in the child: warm-up, reset the high-water mark, `repeats` timed steps.
Measurement measure_here(const AttentionSubject& subject, int64_t T, const AttentionShape& s,
                         bool backward) {
  release_freed_memory_to_os();
  torch::manual_seed(0);
  const auto dims = dims_of(s);
  auto variant = subject.plugin->create(dims, nlohmann::json::object());
  variant->to(s.dtype);
  const auto o = torch::TensorOptions().dtype(s.dtype).requires_grad(backward);
  auto q_BHTD = torch::randn({s.batch, s.heads, T, s.head_dim}, o);
  auto k_BKTD = torch::randn({s.batch, s.kv_heads, T, s.head_dim}, o);
  auto v_BKTD = torch::randn({s.batch, s.kv_heads, T, s.head_dim}, o);
  const auto plain = torch::TensorOptions().dtype(s.dtype);
  const auto x_BTC = torch::randn({s.batch, T, dims.d_model}, plain);
  const auto dy_BHTD = torch::randn({s.batch, s.heads, T, s.head_dim}, plain);
  AttentionContext ctx;
  ctx.x_BTC = &x_BTC;
  const auto forward = [&] {
    return subject.naive ? naive_dense_attention(q_BHTD, k_BKTD, v_BKTD)
                         : variant->forward(q_BHTD, k_BKTD, v_BKTD, ctx);
  };
  const auto step = [&] {
    if (!backward) {
      torch::NoGradGuard no_grad;
      forward();
      return;
    }
    forward().backward(dy_BHTD);
    for (auto* t : {&q_BHTD, &k_BKTD, &v_BKTD}) t->mutable_grad() = torch::Tensor();
    for (auto& p : variant->parameters()) p.mutable_grad() = torch::Tensor();
  };
  step();
  reset_peak_rss();
  const double base = rss_mib();
  std::vector<double> times;
  for (int r = 0; r < s.repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], peak_rss_mib(), peak_rss_mib() - base};
}

Measurement measure(const AttentionSubject& subject, int64_t T, const AttentionShape& s,
                    bool backward) {
  return run_in_fresh_process<Measurement>(
      "bench: measuring " + subject.name + " at T=" + std::to_string(T),
      [&] { return measure_here(subject, T, s, backward); });
}

}  // namespace

torch::Tensor naive_dense_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                    const torch::Tensor& v_BKTD) {
  const int64_t group = q_BHTD.size(1) / k_BKTD.size(1), T = q_BHTD.size(2);
  auto s_BHTT = torch::matmul(q_BHTD, k_BKTD.repeat_interleave(group, 1).transpose(-2, -1)) /
                std::sqrt(double(q_BHTD.size(3)));
  s_BHTT = s_BHTT.masked_fill(torch::ones({T, T}, torch::kBool).triu(1), -INFINITY);
  return torch::matmul(torch::softmax(s_BHTT, -1), v_BKTD.repeat_interleave(group, 1));
}

AttentionRow bench_attention_row(const AttentionSubject& subject, int64_t T,
                                 const AttentionShape& shape) {
  const Measurement fwd = measure(subject, T, shape, false), both = measure(subject, T, shape, true);
  const auto flops = subject.plugin->create(dims_of(shape), nlohmann::json::object())->flops(T);
  const double b = static_cast<double>(shape.batch);
  AttentionRow row;
  row.fwd_ms = fwd.median_s * 1e3;
  row.fwdbwd_ms = both.median_s * 1e3;
  row.fwd_gflops = b * flops.forward / fwd.median_s / 1e9;
  row.fwdbwd_gflops = b * (flops.forward + flops.backward) / both.median_s / 1e9;
  row.fwd_extra_mib = fwd.extra_mib;
  row.fwdbwd_extra_mib = both.extra_mib;
  row.peak_mib = both.peak_mib;
  return row;
}

}  // namespace attnlab::bench
