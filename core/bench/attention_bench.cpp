// bench_attention_row: one attention op's time and memory on its device, measured in fresh
// processes.
#include "attnlab/bench/attention_bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "attnlab/attention_variant.h"
#include "attnlab/bench/bench_device.h"
#include "attnlab/bench/fresh_process.h"
#include "attnlab/device/device.h"
#include "attnlab/kernels/attention.h"

namespace attnlab::bench {

namespace {

struct Measurement {  // crosses a pipe: trivially copyable
  double median_s = 0, peak_mib = 0, extra_mib = 0, reserved_mib = 0;
  char backend[160] = {};  // the backends the op ran, "; "-separated (cut to fit)
};

void copy_backends(char (&out)[160]) {
  std::string text;
  for (const auto& b : kernels::attention_backends_used()) text += (text.empty() ? "" : "; ") + b;
  text.copy(out, sizeof(out) - 1);  // `out` starts zeroed: the rest stays the terminator
}

attnlab_layer_dims dims_of(const AttentionShape& s) {
  return {s.heads * s.head_dim, s.heads, s.kv_heads, s.head_dim, 1, 0};
}

// Runs in the child: warm-up, reset the high-water mark, `repeats` timed steps.
Measurement measure_here(const AttentionSubject& subject, int64_t T, const AttentionShape& s,
                         bool backward) {
  release_freed_memory_to_os();
  device::make_current(s.device);
  torch::manual_seed(0);
  const auto dims = dims_of(s);
  auto variant = subject.plugin->create(dims, nlohmann::json::object());
  variant->to(s.device, s.dtype);
  const auto o = torch::TensorOptions().dtype(s.dtype).device(s.device).requires_grad(backward);
  auto q_BHTD = torch::randn({s.batch, s.heads, T, s.head_dim}, o);
  auto k_BKTD = torch::randn({s.batch, s.kv_heads, T, s.head_dim}, o);
  auto v_BKTD = torch::randn({s.batch, s.kv_heads, T, s.head_dim}, o);
  const auto plain = torch::TensorOptions().dtype(s.dtype).device(s.device);
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
  const double base = reset_memory_peak(s.device);
  device::StepTimer timer(s.device);
  std::vector<double> times;
  for (int r = 0; r < s.repeats; ++r) {
    timer.start();
    step();
    times.push_back(timer.stop_seconds());
  }
  std::sort(times.begin(), times.end());
  const auto peak = memory_peak(s.device);
  Measurement m{times[times.size() / 2], peak.peak_mib, peak.peak_mib - base, peak.reserved_mib};
  copy_backends(m.backend);
  return m;
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
  const auto mask_TT =
      torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(q_BHTD.device())).triu(1);
  s_BHTT = s_BHTT.masked_fill(mask_TT, -INFINITY);
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
  row.reserved_mib = both.reserved_mib;
  row.backend = both.backend;
  return row;
}

}  // namespace attnlab::bench
