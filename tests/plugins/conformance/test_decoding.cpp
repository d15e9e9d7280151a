// Conformance, cached decoding: a plugin that supports_decoding() computes, for queries at
// positions t0.. given only the keys they may read (every earlier one, or the last
// kv_reach() + queries when the reach is bounded) and position_offset t0, the rows a full
// forward computes there: 11 queries at once, and the last 3 tokens one at a time. A variant
// that selects_over_sequence() cannot decode (a prefix's choice differs from the sequence's).
#include <algorithm>

#include "conformance.h"

using namespace attnlab;
using namespace attnlab::test::conformance;

namespace {

// Queries [t0, t0 + n) against the cached keys they may read, vs the full forward's rows.
void check_cached(AttentionVariant& variant, const Sample& s, const torch::Tensor& y_BHTD,
                  int64_t t0, int64_t n) {
  const int64_t reach = variant.kv_reach();
  const int64_t s0 = reach == attnlab::kUnboundedReach ? 0 : std::max<int64_t>(0, t0 - reach);
  const Sample step{
      s.q_BHTD.narrow(2, t0, n).contiguous(), s.k_BKTD.narrow(2, s0, t0 + n - s0).contiguous(),
      s.v_BKTD.narrow(2, s0, t0 + n - s0).contiguous(), s.x_BTC.narrow(1, t0, n).contiguous()};
  INFO("queries [" << t0 << ", " << t0 + n << "), keys [" << s0 << ", " << t0 + n << "), kv_reach "
                   << reach);
  const auto y_step = run(variant, step, t0);
  REQUIRE(y_step.sizes() == step.q_BHTD.sizes());
  CHECK(max_abs_diff(y_step, y_BHTD.narrow(2, t0, n)) < 1e-10);
}

void check_decoding(const PluginUnderTest& p, const OptionSet& set) {
  auto variant = p.create(set.options);
  INFO(set.name << " " << set.options.dump());
  if (variant->selects_over_sequence()) CHECK_FALSE(variant->supports_decoding());
  if (!variant->supports_decoding()) return;
  const int64_t T = 40, t0 = 29;
  const auto s = random_sample(T);
  torch::NoGradGuard no_grad;
  const auto y_BHTD = run(*variant, s);
  check_cached(*variant, s, y_BHTD, t0, T - t0);
  for (int64_t t = T - 3; t < T; ++t) check_cached(*variant, s, y_BHTD, t, 1);
}

}  // namespace

TEST_CASE("every plugin: cached decoding equals full recomputation", "[conformance]") {
  for_each_plugin("decoding from a cache equals the full forward", [](const PluginUnderTest& p) {
    for (const auto& set : p.option_sets()) check_decoding(p, set);
  });
}
