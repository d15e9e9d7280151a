// Conformance, what a variant reports about itself: flops(T), forward and backward, equals
// what its reference counts by loops over the formula's work (plugin_reference.h), in training
// and after an inference forward, on both sides of every window and threshold; and every
// statistic of the last forward is a detached, finite scalar within its declared range, under a
// unique snake_case name.
#include <algorithm>
#include <cmath>
#include <set>

#include "conformance.h"

using namespace attnlab::test::conformance;

namespace {

// The set's lengths and, for every integer option v (a window, a threshold, keep, a block)
// up to the longest of them, v, v + 1 and v + 2: the lengths where an off-by-one shows.
std::set<int64_t> flops_lengths(const OptionSet& set) {
  std::set<int64_t> lengths(set.lengths.begin(), set.lengths.end());
  const int64_t longest = *std::max_element(set.lengths.begin(), set.lengths.end());
  for (const auto& option : set.options) {
    if (!option.is_number_integer()) continue;
    const auto v = option.get<int64_t>();
    for (int64_t T = v; T <= v + 2; ++T) {
      if (T > 0 && T <= longest) lengths.insert(T);
    }
  }
  return lengths;
}

void check_flops(const PluginUnderTest& p, const OptionSet& set) {
  auto variant = p.create(set.options);
  torch::NoGradGuard no_grad;
  for (const int64_t T : flops_lengths(set)) {
    const auto s = random_sample(T);
    for (const bool training : {true, false}) {
      variant->train(training);
      run(*variant, s);  // a variant may count what its last forward measured
      const auto expected = p.reference_output(*variant, set.options, s).flops;
      const auto flops = variant->flops(T);
      INFO(set.name << " " << set.options.dump() << ", T=" << T
                    << (training ? ", training" : ", inference"));
      CHECK(flops.forward == Approx(expected.forward).epsilon(1e-12));
      CHECK(flops.backward == Approx(expected.backward).epsilon(1e-12));
    }
  }
}

void check_statistics(const PluginUnderTest& p, const OptionSet& set) {
  auto variant = p.create(set.options);
  run(*variant, random_sample(40));
  std::set<std::string> names;
  for (const auto& statistic : variant->statistics()) {
    INFO(set.name << " " << set.options.dump() << ", statistic '" << statistic.name << "'");
    CHECK(is_snake_case(statistic.name));
    CHECK(names.insert(statistic.name).second);
    REQUIRE(statistic.value.defined());
    REQUIRE(statistic.value.dim() == 0);
    CHECK_FALSE(statistic.value.requires_grad());
    const double value = statistic.value.item<double>();
    INFO("value " << value << ", range [" << statistic.min << ", " << statistic.max << "]");
    CHECK(std::isfinite(value));
    CHECK(value >= statistic.min);
    CHECK(value <= statistic.max);
  }
}

}  // namespace

TEST_CASE("every plugin: FLOPs and statistics", "[conformance]") {
  for_each_plugin("flops equal the reference's count, forward and backward",
                  [](const PluginUnderTest& p) {
                    for (const auto& set : p.option_sets()) check_flops(p, set);
                  });
  for_each_plugin("statistics are finite scalars within their ranges, snake_case, unique",
                  [](const PluginUnderTest& p) {
                    for (const auto& set : p.option_sets()) check_statistics(p, set);
                  });
}
