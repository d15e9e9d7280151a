// Mixture of Sparse Attention (see mosa.h): the router, the expert-choice top-N per head and
// causal attention among the chosen tokens, gathered from and scattered back to their positions.
#include "attnlab/kernels/mosa.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "attnlab/kernels/attention.h"

namespace attnlab::kernels {
namespace {

[[noreturn]] void fail(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string("attnlab::kernels::") + fn + ": " + what);
}

// x_BNTD at the positions index_BHN of each query head (head h reads x's head h / (H / N)).
torch::Tensor gather_heads(const torch::Tensor& x_BNTD, const torch::Tensor& index_BHN) {
  const int64_t B = index_BHN.size(0), H = index_BHN.size(1), N = index_BHN.size(2);
  const int64_t heads = x_BNTD.size(1), D = x_BNTD.size(3);
  const auto index_BnMD =
      index_BHN.reshape({B, heads, (H / heads) * N, 1}).expand({B, heads, (H / heads) * N, D});
  return x_BNTD.gather(2, index_BnMD).reshape({B, H, N, D});
}

}  // namespace

int64_t mosa_selected_tokens(int64_t T, int64_t sparsity) {
  if (T < 1 || sparsity < 1) {
    fail("mosa_selected_tokens", "T and sparsity must be >= 1, got T=" + std::to_string(T) +
                                     ", sparsity=" + std::to_string(sparsity));
  }
  return std::min(T, std::max<int64_t>(T / sparsity, 2));
}

torch::Tensor mosa_router(const torch::Tensor& x_BTC, const torch::Tensor& weight_HC) {
  if (x_BTC.dim() != 3 || weight_HC.dim() != 2 || weight_HC.size(1) != x_BTC.size(2)) {
    fail("mosa_router", "expected x_BTC [B, T, C] and weight_HC [H, C] with the same C");
  }
  return torch::sigmoid(torch::nn::functional::linear(x_BTC, weight_HC)).permute({0, 2, 1});
}

MosaSelection mosa_select(const torch::Tensor& score_BHT, int64_t n) {
  if (score_BHT.dim() != 3 || n < 1 || n > score_BHT.size(2)) {
    fail("mosa_select", "expected score_BHT [B, H, T] and 1 <= n <= T, got n=" + std::to_string(n));
  }
  const auto chosen_BHN = std::get<1>(score_BHT.detach().topk(n, 2));
  const auto index_BHN = std::get<0>(chosen_BHN.sort(2));
  return {index_BHN, score_BHT.gather(2, index_BHN)};
}

torch::Tensor mosa_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                             const torch::Tensor& v_BKTD, const MosaSelection& selection) {
  const auto& index_BHN = selection.index_BHN;
  if (q_BHTD.dim() != 4 || k_BKTD.dim() != 4 || !k_BKTD.sizes().equals(v_BKTD.sizes()) ||
      index_BHN.dim() != 3 || !selection.score_BHN.sizes().equals(index_BHN.sizes())) {
    fail("mosa_attention", "expected q_BHTD, k_BKTD = v_BKTD shapes, index_BHN = score_BHN shapes");
  }
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKTD.size(1);
  if (K == 0 || H % K != 0 || k_BKTD.size(0) != B || k_BKTD.size(2) != T || k_BKTD.size(3) != D ||
      index_BHN.size(0) != B || index_BHN.size(1) != H) {
    fail("mosa_attention", "q_BHTD, k_BKTD and the selection disagree in B, H/K, T or D");
  }
  const auto gate_BNH = selection.score_BHN.to(q_BHTD.scalar_type()).permute({0, 2, 1});
  const auto y_BHND = gated_causal_attention(
      gather_heads(q_BHTD, index_BHN), gather_heads(k_BKTD, index_BHN),
      gather_heads(v_BKTD, index_BHN), gate_BNH.contiguous(), AttentionParams{});
  const auto index_BHND = index_BHN.unsqueeze(-1).expand({B, H, index_BHN.size(2), D});
  return torch::zeros_like(q_BHTD).scatter(2, index_BHND, y_BHND);
}

FlopCount mosa_flops(int64_t T, int64_t sparsity, int64_t n_head, int64_t head_dim,
                     int64_t d_model) {
  const double N = static_cast<double>(mosa_selected_tokens(T, sparsity));
  const double heads = static_cast<double>(n_head), D = static_cast<double>(head_dim);
  const double attention = 4.0 * D * heads * N * (N + 1) / 2;
  const double router = 2.0 * static_cast<double>(T) * heads * static_cast<double>(d_model);
  const double scaling = heads * N * D;
  return {attention + router + scaling, 2.5 * attention + 2.0 * router + 2.0 * scaling};
}

}  // namespace attnlab::kernels
