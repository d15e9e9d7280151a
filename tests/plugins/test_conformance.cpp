// The conformance suite every attention plugin found in build/plugins must pass (in the
// spirit of ggml's test-backend-ops): output shape, causality, window reach, gradients to
// every parameter, and a match with the naive fp64 reference. A plugin's `window` and
// `adaptive_threshold` options mean what kernels/window.h says; a gate is checked through
// last_gate_BTH(). The plugins are found at run time, so a new plugin is tested unchanged.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "../kernels/naive_attention.h"
#include "attnlab/attention_variant.h"
#include "attnlab/kernels/flops.h"
#include "attnlab/kernels/window.h"
#include "attnlab/plugin/registry.h"

using namespace attnlab;
using attnlab::test::max_abs_diff;
using attnlab::test::naive_attention;

namespace {

constexpr int64_t B = 2, H = 4, K = 2, D = 8, C = 12;
const attnlab_layer_dims kDims{C, H, K, D, 1, 0};

struct Sample {
  torch::Tensor q, k, v, x;
};

Sample random_sample(int64_t T) {
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  return {torch::randn({B, H, T, D}, o), torch::randn({B, K, T, D}, o),
          torch::randn({B, K, T, D}, o), torch::randn({B, T, C}, o)};
}

torch::Tensor run(AttentionVariant& variant, const Sample& s) {
  AttentionContext ctx;
  ctx.x_BTC = &s.x;
  return variant.forward(s.q, s.k, s.v, ctx);
}

bool declares(const plugin::LoadedPlugin& plugin, const std::string& key) {
  for (const auto& option : plugin.options) {
    if (option.key == key) return true;
  }
  return false;
}

// The window the plugin must apply at length T with these (completed) options.
int64_t expected_window(const plugin::LoadedPlugin& plugin, const nlohmann::json& options,
                        int64_t T) {
  if (!declares(plugin, "window")) return kernels::kDenseWindow;
  const int64_t w = options["window"].get<int64_t>();
  if (declares(plugin, "adaptive_threshold") && T <= options["adaptive_threshold"].get<int64_t>()) {
    return kernels::kDenseWindow;
  }
  return w;
}

// Options that make windows visible at small T: window 5, threshold 16.
nlohmann::json small_window_options(const plugin::LoadedPlugin& plugin) {
  nlohmann::json options = nlohmann::json::object();
  if (declares(plugin, "window")) options["window"] = 5;
  if (declares(plugin, "adaptive_threshold")) options["adaptive_threshold"] = 16;
  return plugin.complete_options(options);
}

std::shared_ptr<AttentionVariant> make_fp64(const plugin::LoadedPlugin& plugin,
                                            const nlohmann::json& options) {
  auto variant = plugin.create(kDims, options);
  variant->to(torch::kDouble);
  return variant;
}

void check_reference(const plugin::LoadedPlugin& plugin, const nlohmann::json& options, int64_t T) {
  const int64_t w = expected_window(plugin, options, T);
  INFO("T=" << T << " expected window " << w << " options " << options.dump());
  auto variant = make_fp64(plugin, options);
  const auto s = random_sample(T);
  torch::NoGradGuard no_grad;
  const auto y = run(*variant, s);
  REQUIRE(y.sizes() == s.q.sizes());
  CHECK(y.scalar_type() == torch::kDouble);
  const auto gate = variant->last_gate_BTH();
  if (gate.defined()) {
    REQUIRE(gate.sizes() == torch::IntArrayRef({B, T, H}));
    CHECK(gate.gt(0).all().item<bool>());
    CHECK(gate.lt(1).all().item<bool>());
  }
  CHECK(max_abs_diff(y, naive_attention(s.q, s.k, s.v, w, gate)) < 1e-10);
}

}  // namespace

TEST_CASE("conformance of every plugin in build/plugins", "[conformance]") {
  plugin::PluginRegistry registry(ATTNLAB_BINARY_DIR "/plugins");
  const auto names = registry.available();
  REQUIRE(names.size() >= 5);
  torch::manual_seed(42);
  for (const auto& name : names) {
    const auto& plugin = registry.load(name);
    const auto defaults = plugin.complete_options(nlohmann::json::object());
    const auto small = small_window_options(plugin);

    SECTION(name + ": fp64 reference with its defaults, both sides of T = 512") {
      check_reference(plugin, defaults, 300);
      check_reference(plugin, defaults, 520);
    }

    SECTION(name + ": fp64 reference with a small window, both sides of the threshold") {
      check_reference(plugin, small, 12);
      check_reference(plugin, small, 16);
      check_reference(plugin, small, 40);
    }

    SECTION(name + ": changing future tokens never changes earlier outputs") {
      auto variant = make_fp64(plugin, small);
      const int64_t T = 40, cut = 23;
      const auto s = random_sample(T);
      auto changed = Sample{s.q.clone(), s.k.clone(), s.v.clone(), s.x.clone()};
      for (auto* t : {&changed.q, &changed.k, &changed.v}) t->narrow(2, cut, T - cut).normal_();
      changed.x.narrow(1, cut, T - cut).normal_();
      torch::NoGradGuard no_grad;
      const auto y = run(*variant, s), y_changed = run(*variant, changed);
      CHECK(max_abs_diff(y.narrow(2, 0, cut), y_changed.narrow(2, 0, cut)) < 1e-12);
      CHECK(max_abs_diff(y.narrow(2, cut, T - cut), y_changed.narrow(2, cut, T - cut)) > 1e-3);
    }

    SECTION(name + ": a key just outside the window has no effect, just inside has") {
      auto variant = make_fp64(plugin, small);
      const int64_t T = 40, i = T - 1;
      const int64_t w = expected_window(plugin, small, T);
      const int64_t inside = w == kernels::kDenseWindow ? 0 : i - w;
      const auto s = random_sample(T);
      torch::NoGradGuard no_grad;
      const auto y = run(*variant, s);
      const auto perturbed_at = [&](int64_t j) {
        auto p = Sample{s.q, s.k.clone(), s.v.clone(), s.x};
        p.k.narrow(2, j, 1).add_(torch::randn_like(p.k.narrow(2, j, 1)));
        p.v.narrow(2, j, 1).add_(torch::randn_like(p.v.narrow(2, j, 1)));
        return max_abs_diff(y.narrow(2, i, 1), run(*variant, p).narrow(2, i, 1));
      };
      INFO("window " << w);
      CHECK(perturbed_at(inside) > 1e-6);
      if (w != kernels::kDenseWindow) CHECK(perturbed_at(inside - 1) < 1e-12);
    }

    SECTION(name + ": gradients reach q, k, v and every parameter") {
      auto variant = make_fp64(plugin, small);
      auto s = random_sample(40);
      for (auto* t : {&s.q, &s.k, &s.v}) t->requires_grad_(true);
      const auto y = run(*variant, s);
      (y * torch::randn_like(y)).sum().backward();
      for (const auto* t : {&s.q, &s.k, &s.v}) {
        REQUIRE(t->grad().defined());
        CHECK(t->grad().isfinite().all().item<bool>());
        CHECK(t->grad().abs().sum().item<double>() > 0);
      }
      for (const auto& p : variant->named_parameters()) {
        INFO("parameter " << p.key());
        REQUIRE(p.value().grad().defined());
        CHECK(p.value().grad().isfinite().all().item<bool>());
        CHECK(p.value().grad().abs().sum().item<double>() > 0);
      }
      if (variant->last_gate_BTH().defined()) CHECK_FALSE(variant->parameters().empty());
    }

    SECTION(name + ": flops count at least the in-window attention work") {
      auto variant = plugin.create(kDims, defaults);
      for (int64_t T : {100, 512, 513, 8192}) {
        const auto flops = variant->flops(T);
        const auto attention =
            kernels::attention_flops(T, expected_window(plugin, defaults, T), H, D);
        INFO("T=" << T);
        CHECK(flops.forward >= attention.forward);
        CHECK(flops.forward <
              attention.forward + 4.0 * T * C * H * D);  // attention + at most a projection
        CHECK(flops.backward >= flops.forward);
      }
    }
  }
}
