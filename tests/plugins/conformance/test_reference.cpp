// Conformance, the output itself: every plugin has a reference; with its defaults and its
// reference's small options the output has q's shape and dtype and finite values, and in fp64
// it matches the reference to 1e-10.
#include "conformance.h"

using namespace attnlab::test::conformance;

namespace {

void check_shape(const PluginUnderTest& p, const OptionSet& set) {
  auto variant = p.create(set.options, torch::kFloat);
  for (const int64_t T : set.lengths) {
    INFO(set.name << " " << set.options.dump() << ", T=" << T);
    const auto s = random_sample(T, torch::kFloat);
    torch::NoGradGuard no_grad;
    const auto y_BHTD = run(*variant, s);
    REQUIRE(y_BHTD.sizes() == s.q_BHTD.sizes());
    CHECK(y_BHTD.scalar_type() == torch::kFloat);
    CHECK(y_BHTD.isfinite().all().item<bool>());
    const auto gate_BTH = variant->last_gate_BTH();
    if (!gate_BTH.defined()) continue;
    REQUIRE(gate_BTH.sizes() == torch::IntArrayRef({B, T, H}));
    CHECK(gate_BTH.ge(0).logical_and(gate_BTH.le(1)).all().item<bool>());
  }
}

void check_reference(const PluginUnderTest& p, const OptionSet& set) {
  auto variant = p.create(set.options);
  for (const int64_t T : set.lengths) {
    INFO(set.name << " " << set.options.dump() << ", T=" << T);
    const auto s = random_sample(T);
    torch::NoGradGuard no_grad;
    const auto y_BHTD = run(*variant, s);
    const auto expected = p.reference_output(*variant, set.options, s);
    REQUIRE(y_BHTD.sizes() == expected.y_BHTD.sizes());
    CHECK(y_BHTD.scalar_type() == torch::kDouble);
    CHECK(max_abs_diff(y_BHTD, expected.y_BHTD) < 1e-10);
  }
}

}  // namespace

TEST_CASE("every plugin: its output has the right form and matches its reference",
          "[conformance]") {
  for_each_plugin("a reference is registered",
                  [](const PluginUnderTest& p) { p.require_reference(); });
  for_each_plugin("shape [B,H,T,D], dtype kept, finite values", [](const PluginUnderTest& p) {
    for (const auto& set : p.option_sets()) check_shape(p, set);
  });
  for_each_plugin("fp64 output matches its reference to 1e-10", [](const PluginUnderTest& p) {
    for (const auto& set : p.option_sets()) check_reference(p, set);
  });
}
