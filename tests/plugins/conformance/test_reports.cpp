// Conformance, what a variant reports about itself: flops(T) counts at least the attention
// work its reference counts (4·D per score pair) and at most that plus one projection's worth
// (4·T·C·H·D), backward no less than forward; and every statistic of the last forward is a
// detached, finite scalar within its declared range, under a unique snake_case name.
#include <cmath>
#include <set>

#include "conformance.h"

using namespace attnlab::test::conformance;

namespace {

void check_flops(const PluginUnderTest& p, const OptionSet& set) {
  auto variant = p.create(set.options);
  for (const int64_t T : {12, 40}) {
    const auto s = random_sample(T);
    torch::NoGradGuard no_grad;
    const double attention = 4.0 * D * p.reference_output(*variant, set.options, s).score_pairs;
    const auto flops = variant->flops(T);
    INFO(set.name << " " << set.options.dump() << ", T=" << T << ": forward " << flops.forward
                  << ", backward " << flops.backward << ", reference attention " << attention);
    CHECK(flops.forward >= attention);
    CHECK(flops.forward <= attention + 4.0 * T * C * H * D);
    CHECK(flops.backward >= flops.forward);
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
  for_each_plugin("flops count the reference's attention work, at most a projection more",
                  [](const PluginUnderTest& p) {
                    for (const auto& set : p.option_sets()) check_flops(p, set);
                  });
  for_each_plugin("statistics are finite scalars within their ranges, snake_case, unique",
                  [](const PluginUnderTest& p) {
                    for (const auto& set : p.option_sets()) check_statistics(p, set);
                  });
}
