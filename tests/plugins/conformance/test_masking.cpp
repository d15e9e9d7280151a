// Conformance, what a query may see: changing tokens at positions >= cut never changes earlier
// outputs (and does change later ones); for a plugin declaring `window`, a key just outside
// the window has no effect and one just inside has. A plugin declaring `sinks` keeps its first
// `sinks` keys visible, so the key perturbed outside the window is not a sink. A variant whose
// selects_over_sequence() is true chooses tokens by scores of the whole sequence (MoSA's expert
// choice): which tokens it attends over may depend on later tokens, so for it only q, k and v
// change at positions >= cut and x (what the scores read) is kept, which keeps the choice fixed.
#include "conformance.h"

using namespace attnlab;
using namespace attnlab::test::conformance;

namespace {

void check_causality(const PluginUnderTest& p, const OptionSet& set) {
  INFO(set.name << " " << set.options.dump());
  auto variant = p.create(set.options);
  const int64_t T = 40, cut = 23;
  const auto s = random_sample(T);
  auto changed = s.clone();
  for (auto* t : {&changed.q_BHTD, &changed.k_BKTD, &changed.v_BKTD}) {
    t->narrow(2, cut, T - cut).normal_();
  }
  const bool selects_over_sequence = variant->selects_over_sequence();
  INFO((selects_over_sequence ? "selection over the sequence: x kept, the choice fixed" : ""));
  if (!selects_over_sequence) changed.x_BTC.narrow(1, cut, T - cut).normal_();
  torch::NoGradGuard no_grad;
  const auto y = run(*variant, s), y_changed = run(*variant, changed);
  CHECK(max_abs_diff(y.narrow(2, 0, cut), y_changed.narrow(2, 0, cut)) < 1e-12);
  CHECK(max_abs_diff(y.narrow(2, cut, T - cut), y_changed.narrow(2, cut, T - cut)) > 1e-3);
}

// How much the output of the last query moves when key/value j change.
double effect_of_key(AttentionVariant& variant, const Sample& s, int64_t j) {
  torch::NoGradGuard no_grad;
  const int64_t i = s.q_BHTD.size(2) - 1;
  auto perturbed = s.clone();
  for (auto* t : {&perturbed.k_BKTD, &perturbed.v_BKTD}) {
    t->narrow(2, j, 1).add_(torch::randn_like(t->narrow(2, j, 1)));
  }
  return max_abs_diff(run(variant, s).narrow(2, i, 1), run(variant, perturbed).narrow(2, i, 1));
}

void check_window_reach(const PluginUnderTest& p) {
  const auto& options = p.small;
  const int64_t T = 40, i = T - 1, w = options.at("window").get<int64_t>();
  const int64_t sinks = p.declares("sinks") ? options.at("sinks").get<int64_t>() : 0;
  INFO("small_options " << options.dump() << ", T=" << T << ", last query " << i);
  if (p.declares("adaptive_threshold")) {
    INFO("small_options must make the window apply at T=40");
    REQUIRE(T > options.at("adaptive_threshold").get<int64_t>());
  }
  {
    INFO("small_options must leave a non-sink key outside the window");
    REQUIRE(i - w - 1 >= sinks);
  }
  auto variant = p.create(options);
  const auto s = random_sample(T);
  CHECK(effect_of_key(*variant, s, i - w) > 1e-6);
  CHECK(effect_of_key(*variant, s, i - w - 1) < 1e-12);
  if (sinks > 0) CHECK(effect_of_key(*variant, s, 0) > 1e-6);
}

}  // namespace

TEST_CASE("every plugin: causal, and windows reach exactly their keys", "[conformance]") {
  for_each_plugin("changing future tokens never changes earlier outputs",
                  [](const PluginUnderTest& p) {
                    for (const auto& set : p.option_sets()) check_causality(p, set);
                  });
  for_each_plugin("a key just outside the window has no effect, just inside has",
                  [](const PluginUnderTest& p) {
                    if (p.declares("window")) check_window_reach(p);
                  });
}
