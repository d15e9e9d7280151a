// Conformance, gradients: with the reference's smooth options, the analytic gradient of
// (y·w).sum() agrees with central finite differences (eps 1e-6, relative error < 1e-6) along
// three random directions for q, k, v, x and every parameter, and every parameter gets a
// finite, non-zero gradient. An auxiliary loss, when defined, is a finite scalar whose
// gradient reaches a parameter or q/k/v.
#include <algorithm>
#include <cmath>
#include <utility>

#include "conformance.h"

using namespace attnlab;
using namespace attnlab::test::conformance;

namespace {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

NamedTensors inputs_and_parameters(const Sample& s, const AttentionVariant& variant) {
  NamedTensors all = {{"q", s.q_BHTD}, {"k", s.k_BKTD}, {"v", s.v_BKTD}, {"x", s.x_BTC}};
  for (const auto& p : variant.named_parameters()) all.emplace_back(p.key(), p.value());
  return all;
}

// d/dε (y(t + ε·dir)·w).sum() at ε = 0 by central differences; t is changed in place and
// restored.
double central_difference(AttentionVariant& variant, const Sample& s, const torch::Tensor& w,
                          torch::Tensor t, const torch::Tensor& dir) {
  constexpr double eps = 1e-6;
  torch::NoGradGuard no_grad;
  const auto original = t.clone();
  const auto objective = [&](double step) {
    t.copy_(original).add_(dir, step);
    return (run(variant, s) * w).sum().item<double>();
  };
  const double slope = (objective(eps) - objective(-eps)) / (2 * eps);
  t.copy_(original);
  return slope;
}

void check_gradients(const PluginUnderTest& p) {
  INFO("smooth options " << p.smooth.dump());
  auto variant = p.create(p.smooth);
  const auto s = random_sample(20);
  const auto all = inputs_and_parameters(s, *variant);
  for (const auto& [name, t] : all) t.requires_grad_(true);
  const auto y = run(*variant, s);
  const auto w = torch::randn_like(y);
  (y * w).sum().backward();
  for (const auto& [name, t] : all) {
    const auto grad = t.grad().defined() ? t.grad() : torch::zeros_like(t);
    for (int direction = 0; direction < 3; ++direction) {
      const auto dir = torch::randn_like(t);
      const double analytic = (grad * dir).sum().item<double>();
      const double numeric = central_difference(*variant, s, w, t, dir);
      INFO(name << " direction " << direction << ": analytic " << analytic << ", numeric "
                << numeric);
      CHECK(std::abs(analytic - numeric) <
            1e-6 * std::max({std::abs(analytic), std::abs(numeric), 1e-8}));
    }
  }
  for (const auto& p : variant->named_parameters()) {
    INFO("parameter " << p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().isfinite().all().item<bool>());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
  }
}

bool has_nonzero_grad(const torch::Tensor& t) {
  return t.grad().defined() && t.grad().abs().sum().item<double>() > 0;
}

void check_aux_loss(const PluginUnderTest& p, const OptionSet& set) {
  INFO(set.name << " " << set.options.dump());
  auto variant = p.create(set.options);
  const auto s = random_sample(40);
  const auto all = inputs_and_parameters(s, *variant);
  for (const auto& [name, t] : all) t.requires_grad_(true);
  run(*variant, s);
  const auto aux = variant->aux_loss();
  if (!aux.defined()) return;
  REQUIRE(aux.dim() == 0);
  CHECK(std::isfinite(aux.item<double>()));
  REQUIRE(aux.requires_grad());
  aux.backward();
  CHECK(std::any_of(all.begin(), all.end(), [](const auto& named) {
    return named.first != "x" && has_nonzero_grad(named.second);
  }));
}

}  // namespace

TEST_CASE("every plugin: gradients match finite differences", "[conformance]") {
  for_each_plugin("fp64 gradients match finite differences, reach every parameter",
                  check_gradients);
  for_each_plugin("aux_loss, when defined, is a finite scalar with a gradient",
                  [](const PluginUnderTest& p) {
                    for (const auto& set : p.option_sets()) check_aux_loss(p, set);
                  });
}
