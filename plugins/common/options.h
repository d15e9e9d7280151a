// Option declarations shared by the seed plugins (same key, same meaning everywhere) and
// their reading into kernel parameters. The conformance suite relies on `window` and
// `adaptive_threshold` meaning exactly what kernels/window.h says.
#pragma once
#include <limits>
#include <nlohmann/json.hpp>

#include "attnlab/kernels/head_gate.h"
#include "attnlab/kernels/window.h"
#include "attnlab/plugin/plugin_support.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::plugins {

inline constexpr double kMaxLength = 1 << 30;

inline constexpr attnlab_option_spec kWindowOption = {
    "window",
    "int",
    "256",
    0,
    kMaxLength,
    nullptr,
    "query i sees keys i-window..i (window+1 keys)"};
inline constexpr attnlab_option_spec kAdaptiveThresholdOption = {
    "adaptive_threshold",
    "int",
    "512",
    0,
    kMaxLength,
    nullptr,
    "the window applies only when T > this; dense attention otherwise (0 = always windowed)"};
inline constexpr attnlab_option_spec kGateWeightStdOption = {
    "gate_weight_init_std",
    "float",
    "0.02",
    0,
    10,
    nullptr,
    "gate weight W_g starts ~ N(0, std^2); 0 starts it at zero"};
inline constexpr attnlab_option_spec kGateBiasOption = {
    "gate_bias_init",
    "float",
    "0.0",
    -20,
    20,
    nullptr,
    "gate bias b_g starts at this value: the gate starts near sigmoid(b), 0.5 for 0"};

inline kernels::WindowParams read_window(const nlohmann::json& options, bool adaptive) {
  kernels::WindowParams window;
  window.window = plugin::option<int64_t>(options, kWindowOption.name);
  window.adaptive_threshold =
      adaptive ? plugin::option<int64_t>(options, kAdaptiveThresholdOption.name) : 0;
  return window;
}

inline kernels::HeadGateInit read_gate_init(const nlohmann::json& options) {
  return {plugin::option<double>(options, kGateWeightStdOption.name),
          plugin::option<double>(options, kGateBiasOption.name)};
}

}  // namespace attnlab::plugins
