// The registry of the conformance suite's per-plugin references (plugin_reference.h) and the
// formula helpers the references share. Nothing here calls a plugin's or the kernels' code.
#include "plugin_reference.h"

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>

#include "../kernels/naive_attention.h"

namespace attnlab::test {
namespace {

// Function-local, so registrars in other translation units may run first.
std::map<std::string, PluginReference>& references() {
  static std::map<std::string, PluginReference> by_plugin;
  return by_plugin;
}

}  // namespace

const PluginReference* find_reference(const std::string& plugin) {
  const auto found = references().find(plugin);
  return found == references().end() ? nullptr : &found->second;
}

ReferenceRegistrar::ReferenceRegistrar(const std::string& plugin, PluginReference reference) {
  if (!references().emplace(plugin, std::move(reference)).second) {
    throw std::logic_error("two references registered for plugin " + plugin);
  }
}

torch::Tensor parameter(const AttentionVariant& variant, const std::string& name) {
  const auto parameters = variant.named_parameters();
  const auto* found = parameters.find(name);
  INFO("parameter " << name << " of the variant");
  REQUIRE(found != nullptr);
  return found->to(torch::kDouble);
}

int64_t adaptive_window(const nlohmann::json& options, int64_t T) {
  return T > options.at("adaptive_threshold").get<int64_t>() ? options.at("window").get<int64_t>()
                                                             : -1;
}

ReferenceFlops& ReferenceFlops::operator+=(const ReferenceFlops& other) {
  forward += other.forward;
  backward += other.backward;
  return *this;
}

ReferenceOutput windowed_attention(const ReferenceInput& in, int64_t window,
                                   const torch::Tensor& gate_BTH) {
  const int64_t H = in.q_BHTD.size(1), T = in.q_BHTD.size(2), D = in.q_BHTD.size(3);
  const auto sees = [window](int64_t, int64_t i, int64_t j) {
    return window < 0 || i - j <= window;
  };
  return {naive_attention(in.q_BHTD, in.k_BKTD, in.v_BKTD, window, gate_BTH),
          attention_flops(H, T, D, sees)};
}

ReferenceFlops attention_flops(int64_t H, int64_t T, int64_t D,
                               const std::function<bool(int64_t h, int64_t i, int64_t j)>& sees) {
  ReferenceFlops flops;
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i = 0; i < T; ++i) {
      for (int64_t j = 0; j <= i; ++j) {
        if (!sees(h, i, j)) continue;
        flops.forward += 2.0 * D + 2.0 * D;  // q_i·k_j, then p_ij·v_j
        flops.backward += 5 * 2.0 * D;  // q_i·k_j again, p_ijᵀ·do_i, do_i·v_j, ds_ij·k_j, ds_ij·q_i
      }
    }
  }
  return flops;
}

ReferenceFlops projection_flops(int64_t T, int64_t outputs, int64_t inputs) {
  ReferenceFlops flops;
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t o = 0; o < outputs; ++o) {
      for (int64_t c = 0; c < inputs; ++c) {
        flops.forward += 2.0;   // x_tc · w_oc
        flops.backward += 4.0;  // dx_tc += dz_to · w_oc, dw_oc += dz_to · x_tc
      }
    }
  }
  return flops;
}

ReferenceFlops gate_flops(int64_t T, int64_t gates, int64_t inputs, int64_t H, int64_t D) {
  auto flops = projection_flops(T, gates, inputs);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t channel = 0; channel < H * D; ++channel) {
      flops.forward += 1.0;   // y = o · g
      flops.backward += 2.0;  // do = dy · g, dg += dy · o
    }
  }
  return flops;
}

ReferenceOutput head_gated_attention(const ReferenceInput& in, int64_t window) {
  const int64_t H = in.q_BHTD.size(1), T = in.q_BHTD.size(2), D = in.q_BHTD.size(3);
  const auto w_HC = parameter(*in.variant, "gate_weight");
  const auto b_H = parameter(*in.variant, "gate_bias");
  auto out =
      windowed_attention(in, window, torch::sigmoid(torch::matmul(in.x_BTC, w_HC.t()) + b_H));
  out.flops += gate_flops(T, H, in.x_BTC.size(2), H, D);
  return out;
}

}  // namespace attnlab::test
