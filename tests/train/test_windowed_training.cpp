// Windowed plugins trained end to end at train.seq_len 64 with a window of 16: the run records
// the windowed kernel and trains differently from the same run with a window covering the whole
// sequence. The adaptive plugins (kernels/window.h: window_for_length) train dense when T is not
// above their threshold, and switch inside a model's forward at T = threshold + 1.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <random>

#include "attnlab/kernels/attention.h"
#include "attnlab/model/decoder.h"
#include "attnlab/plugin/registry.h"
#include "train_fixture.h"
#include "../model/small_model_config.h"

using namespace attnlab;
using namespace attnlab::test;

namespace {

constexpr int kShortSteps = 2;
constexpr int kSeqLen = 64;  // the fixture's train.seq_len

// `variant` trained kShortSteps steps with attention.options window `window` and, when
// `threshold` >= 0, adaptive_threshold `threshold`.
RunRecordings train_windowed(const std::string& variant, int window, int threshold) {
  std::vector<std::string> overrides = {"train.steps=" + std::to_string(kShortSteps),
                                        "attention.options.window=" + std::to_string(window)};
  if (threshold >= 0) {
    overrides.push_back("attention.options.adaptive_threshold=" + std::to_string(threshold));
  }
  const std::string name = variant + "_w" + std::to_string(window) + "_t" + std::to_string(threshold);
  return train_with(name, variant, overrides);
}

// The run's recorded attention kernels (run_info "attention_backend").
std::string backend_of(const RunRecordings& r) {
  return nlohmann::json::parse(r.info.at("attention_backend")).get<std::string>();
}

// Whether the two runs' train/loss differ at every step.
bool losses_differ_everywhere(const RunRecordings& a, const RunRecordings& b) {
  const auto& la = a.metrics.at("train/loss");
  const auto& lb = b.metrics.at("train/loss");
  REQUIRE(la.size() == kShortSteps);
  REQUIRE(lb.size() == kShortSteps);
  for (size_t i = 0; i < la.size(); ++i) {
    if (la[i].value == lb[i].value) return false;
  }
  return true;
}

// Windowed with window 16 against the same plugin with window 64 (every key visible at T = 64);
// returns the wide run.
RunRecordings check_window_in_effect(const std::string& variant, int threshold) {
  INFO(variant << ", adaptive_threshold " << threshold);
  const auto windowed = train_windowed(variant, 16, threshold);
  const auto wide = train_windowed(variant, kSeqLen, threshold);
  CHECK(backend_of(windowed) == "blocked (cpu), window 16");
  CHECK(backend_of(wide) == "blocked (cpu), window 64");
  CHECK(max_relative_gap(wide, windowed, "train/loss") > 0);  // also: every loss finite
  CHECK(losses_differ_everywhere(windowed, wide));
  return wide;
}

model::ModelConfig tiny_config() {  // the model tests' small decoder, 8-wide heads
  auto c = test::small_model_config("adaptive_test", 97, 2);
  c.d_model = 32;
  c.head_dim = 8;
  c.ffn_hidden = 64;
  c.init_std = 0.02;
  return c;
}

// The kernels one forward of `model` at length T ran.
std::vector<std::string> backends_at(model::Decoder& model, int64_t T) {
  torch::NoGradGuard no_grad;
  kernels::reset_attention_backends_used();
  model->forward(torch::randint(model->config().vocab_size, {2, T}, torch::kLong));
  return kernels::attention_backends_used();
}

}  // namespace

TEST_CASE("fixed_window trains with its window in effect at seq_len 64", "[train][window]") {
  check_window_in_effect("fixed_window", -1);
}

TEST_CASE("adaptive plugins train windowed above their threshold, dense at it", "[train][window]") {
  for (const std::string variant : {"no_gating", "gated_window"}) {
    const auto wide = check_window_in_effect(variant, kSeqLen / 2);
    const auto at_threshold = train_windowed(variant, 16, kSeqLen);  // T = threshold: dense
    INFO(variant);
    CHECK(backend_of(at_threshold) == "blocked (cpu), dense");
    // A window covering the sequence is dense attention: the same training to rounding.
    CHECK(max_relative_gap(at_threshold, wide, "train/loss") < 1e-5);
  }
}

TEST_CASE("an adaptive plugin inside a model: dense up to its threshold, windowed above",
          "[train][window]") {
  plugin::PluginRegistry registry(ATTNLAB_BINARY_DIR "/plugins");
  std::mt19937 rng(std::random_device{}());
  const int64_t threshold = std::uniform_int_distribution<int64_t>(16, 48)(rng);
  const int64_t window = std::uniform_int_distribution<int64_t>(1, 8)(rng);
  INFO("threshold " << threshold << ", window " << window);
  for (const std::string name : {"no_gating", "gated_window"}) {
    INFO(name);
    const auto& plugin = registry.load(name);
    const auto options =
        plugin.complete_options({{"window", window}, {"adaptive_threshold", threshold}});
    model::Decoder model(tiny_config(), [&](const attnlab_layer_dims& dims) {
      return plugin.create(dims, options);
    });
    const std::vector<std::string> dense = {"blocked (cpu), dense"};
    const std::vector<std::string> windowed = {"blocked (cpu), window " + std::to_string(window)};
    CHECK(backends_at(model, threshold - 1) == dense);
    CHECK(backends_at(model, threshold) == dense);
    CHECK(backends_at(model, threshold + 1) == windowed);
  }
}
