// Interface v2 in a training run: a variant's statistics and the attention entropy are logged
// every train.log_every steps as attn/<name> (mean over layers) with per-layer evals, within
// their ranges; train.param_groups changes how the gate's parameters train (and only from the
// first update on); a misspelt group stops the run before step 1, naming the key.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "train_fixture.h"

using namespace attnlab;
using namespace attnlab::test;

namespace {

constexpr int kRunSteps = 3;
constexpr int kLayers = 2;  // the fixture's narrowed tiny model

std::vector<std::string> short_run(std::vector<std::string> more) {
  more.insert(more.begin(), {"train.steps=" + std::to_string(kRunSteps), "train.log_every=2",
                             "attention.options.window=16", "attention.options.adaptive_threshold=0"});
  return more;
}

}  // namespace

TEST_CASE("statistics and entropy are logged at the log interval, per layer and in range",
          "[train][variant_capabilities]") {
  const auto r = train_with("capabilities_stats", "gated_window", short_run({}));
  for (const char* name : {"attn/kept_fraction", "attn/mean_gate", "attn/entropy"}) {
    INFO(name);
    REQUIRE(r.metrics.count(name));
    const auto& points = r.metrics.at(name);
    REQUIRE(points.size() == 2);  // steps 2 and 3 (the last): log_every 2 over 3 steps
    CHECK(points[0].step == 1);
    CHECK(points[1].step == kRunSteps - 1);
    REQUIRE(r.evals.count(name));
    for (const auto& eval : r.evals.at(name)) {
      const auto layers = nlohmann::json::parse(eval.value_json);
      REQUIRE(layers.size() == kLayers);
      double sum = 0.0;
      for (const auto& v : layers) sum += v.get<double>();
      const auto& point = points[eval.step == 1 ? 0 : 1];
      CHECK(point.value == Approx(sum / kLayers).epsilon(1e-12));
    }
  }
  const int64_t T = 64, w = 16;  // the fixture's seq_len; every query past w sees w + 1 keys
  double visible = 0.0;
  for (int64_t i = 0; i < T; ++i) visible += std::min(i, w) + 1;
  CHECK(r.metrics.at("attn/kept_fraction").back().value ==
        Approx(visible / (T * (T + 1) / 2.0)).epsilon(1e-12));
  for (const auto& p : r.metrics.at("attn/mean_gate")) CHECK((p.value > 0 && p.value < 1));
  for (const auto& p : r.metrics.at("attn/entropy")) {
    CHECK(p.value > 0);
    CHECK(p.value < std::log(static_cast<double>(T)));  // a uniform distribution's at most
  }
}

TEST_CASE("train.param_groups sets the gate's learning rate; a misspelt group fails early",
          "[train][variant_capabilities]") {
  const auto plain = train_with("capabilities_plain", "gated_window", short_run({}));
  const auto fast_gate = train_with("capabilities_fast_gate", "gated_window",
                                    short_run({"+train.param_groups.gate.lr_scale=30"}));
  const auto& a = plain.metrics.at("train/loss");
  const auto& b = fast_gate.metrics.at("train/loss");
  CHECK(a[0].value == b[0].value);  // the same model until the first update
  CHECK(a[2].value != b[2].value);

  TrainSetup setup;
  setup.dir = fresh_dir("capabilities_misspelt");
  setup.variant = "gated_window";
  setup.overrides = short_run({"+train.param_groups.gates.lr_scale=2"});
  const auto outcome = run_training(setup);
  INFO(transcript(outcome));
  CHECK(outcome.exit_code != 0);
  CHECK_THAT(outcome.err + outcome.out, Catch::Contains("train.param_groups.gates") &&
                                            Catch::Contains("groups are: gate"));
}
