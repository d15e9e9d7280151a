// Mixture-of-Head attention's router, load-balancing loss and FLOPs (see moh.h).
#include "attnlab/kernels/moh.h"

#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "attnlab/kernels/window.h"

namespace attnlab::kernels {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("attnlab::kernels::moh_route: " + what);
}

// A router weight must be [rows, C] when its group exists (`needed`) and undefined otherwise.
void check_weight(const char* name, const torch::Tensor& weight, bool needed, int64_t rows,
                  int64_t C) {
  if (!needed) {
    if (weight.defined()) fail(std::string(name) + " must be undefined for these head counts");
    return;
  }
  if (!weight.defined() || weight.dim() != 2 || weight.size(0) != rows || weight.size(1) != C) {
    fail(std::string(name) + " must be [" + std::to_string(rows) + ", " + std::to_string(C) + "]");
  }
}

torch::Tensor softmax_of(const torch::Tensor& x_BTC, const torch::Tensor& weight_EC) {
  return torch::softmax(torch::nn::functional::linear(x_BTC, weight_EC), -1);
}

}  // namespace

MohRouting moh_route(const torch::Tensor& x_BTC, const MohRouterWeights& weights, int64_t n_head,
                     int64_t n_shared, int64_t top_k) {
  if (x_BTC.dim() != 3)
    fail("x_BTC must be [B, T, C], got " + std::to_string(x_BTC.dim()) + " dims");
  const int64_t B = x_BTC.size(0), T = x_BTC.size(1), C = x_BTC.size(2);
  const int64_t S = n_shared, R = n_head - n_shared;
  if (S < 0 || R < 0) fail("n_shared must be in [0, n_head = " + std::to_string(n_head) + "]");
  if (R > 0 && (top_k < 1 || top_k > R)) {
    fail("top_k must be in [1, " + std::to_string(R) + "] (the routed heads), got " +
         std::to_string(top_k));
  }
  check_weight("shared_SC", weights.shared_SC, S >= 2, S, C);
  check_weight("routed_RC", weights.routed_RC, R > 0, R, C);
  check_weight("mix_2C", weights.mix_2C, S > 0 && R > 0, 2, C);
  MohRouting routing;
  torch::Tensor alpha_BT2;
  if (S > 0 && R > 0) {
    alpha_BT2 = softmax_of(x_BTC, weights.mix_2C);
    routing.shared_mix_BT = alpha_BT2.select(-1, 0).detach();
  }
  std::vector<torch::Tensor> gates;
  if (S > 0) {
    auto shared_BTS =
        S >= 2 ? softmax_of(x_BTC, weights.shared_SC) : torch::ones({B, T, 1}, x_BTC.options());
    gates.push_back(alpha_BT2.defined() ? shared_BTS * alpha_BT2.narrow(-1, 0, 1) : shared_BTS);
  }
  if (R > 0) {
    routing.routed_p_BTR = softmax_of(x_BTC, weights.routed_RC);
    const auto top_BTk = std::get<1>(routing.routed_p_BTR.topk(top_k, -1));
    routing.chosen_BTR =
        torch::zeros({B, T, R}, x_BTC.options().dtype(torch::kBool)).scatter_(-1, top_BTk, true);
    auto routed_BTR = routing.routed_p_BTR * routing.chosen_BTR.to(x_BTC.scalar_type());
    gates.push_back(alpha_BT2.defined() ? routed_BTR * alpha_BT2.narrow(-1, 1, 1) : routed_BTR);
  }
  routing.gate_BTH = torch::cat(gates, -1);
  return routing;
}

torch::Tensor moh_load_balance_loss(const MohRouting& routing) {
  if (!routing.routed_p_BTR.defined()) return {};
  const auto f_R =
      routing.chosen_BTR.to(routing.routed_p_BTR.scalar_type()).mean(torch::IntArrayRef{0, 1});
  return (f_R * routing.routed_p_BTR.mean(torch::IntArrayRef{0, 1})).sum();
}

FlopCount moh_flops(int64_t T, int64_t d_model, int64_t n_head, int64_t head_dim,
                    int64_t router_outputs) {
  const auto attention = attention_flops(T, kDenseWindow, n_head, head_dim);
  const double t = static_cast<double>(T), scale = t * n_head * head_dim;
  const double router = 2.0 * t * static_cast<double>(d_model) * router_outputs;
  return {attention.forward + router + scale, attention.backward + 2.0 * router + 2.0 * scale};
}

}  // namespace attnlab::kernels
