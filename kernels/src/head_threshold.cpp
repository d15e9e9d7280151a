// The head threshold gate (see head_threshold.h): block-causal pooling, the per-head score,
// the straight-through / soft mask and attention over the active rows only.
#include "attnlab/kernels/head_threshold.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "attnlab/kernels/window.h"

namespace attnlab::kernels {
namespace {

[[noreturn]] void fail(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string("attnlab::kernels::") + fn + ": " + what);
}

// Rows (ascending token indices) of one head: causal attention against keys 0..rows[-1].
torch::Tensor rows_attention(const torch::Tensor& q_TD, const torch::Tensor& k_TD,
                             const torch::Tensor& v_TD, const torch::Tensor& rows_R) {
  const int64_t keys = rows_R[-1].item<int64_t>() + 1;
  const auto k_SD = k_TD.slice(0, 0, keys), v_SD = v_TD.slice(0, 0, keys);
  auto s_RS = torch::matmul(q_TD.index_select(0, rows_R), k_SD.t()) /
              std::sqrt(static_cast<double>(q_TD.size(1)));
  const auto future_RS = torch::arange(keys, rows_R.options()).unsqueeze(0) > rows_R.unsqueeze(1);
  return torch::matmul(torch::softmax(s_RS.masked_fill(future_RS, -INFINITY), -1), v_SD);
}

}  // namespace

torch::Tensor block_prefix_mean(const torch::Tensor& x_BNTD, int64_t block) {
  if (x_BNTD.dim() != 4) fail("block_prefix_mean", "x_BNTD must be [B, N, T, D]");
  if (block < 1) fail("block_prefix_mean", "block must be >= 1, got " + std::to_string(block));
  const int64_t B = x_BNTD.size(0), N = x_BNTD.size(1), T = x_BNTD.size(2), D = x_BNTD.size(3);
  const int64_t blocks = (T + block - 1) / block;
  const auto padded = torch::constant_pad_nd(x_BNTD, {0, 0, 0, blocks * block - T});
  const auto sums = padded.reshape({B, N, blocks, block, D}).cumsum(3);
  const auto counts = torch::arange(1, block + 1, x_BNTD.options()).view({1, 1, 1, block, 1});
  return (sums / counts).reshape({B, N, blocks * block, D}).slice(2, 0, T);
}

torch::Tensor head_threshold_score(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                   const torch::Tensor& weight_H2D, const torch::Tensor& bias_H,
                                   int64_t block) {
  if (q_BHTD.dim() != 4 || k_BKTD.dim() != 4) {
    fail("head_threshold_score", "q_BHTD and k_BKTD must have 4 dims");
  }
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKTD.size(1);
  if (K == 0 || H % K != 0 || k_BKTD.size(2) != T || k_BKTD.size(3) != D) {
    fail("head_threshold_score", "k_BKTD must be [B, K, T, D] with K dividing H");
  }
  if (weight_H2D.dim() != 2 || weight_H2D.size(0) != H || weight_H2D.size(1) != 2 * D ||
      bias_H.dim() != 1 || bias_H.size(0) != H) {
    fail("head_threshold_score", "weight_H2D must be [H, 2D] = [" + std::to_string(H) + ", " +
                                     std::to_string(2 * D) + "] and bias_H [H]");
  }
  const auto w_q_HD = weight_H2D.slice(1, 0, D),
             w_k_KGD = weight_H2D.slice(1, D).reshape({K, H / K, D});
  const auto from_q_BHT = torch::einsum("bhtd,hd->bht", {block_prefix_mean(q_BHTD, block), w_q_HD});
  const auto from_k_BHT =
      torch::einsum("bktd,kgd->bkgt", {block_prefix_mean(k_BKTD, block), w_k_KGD})
          .reshape({B, H, T});
  return torch::sigmoid(from_q_BHT + from_k_BHT + bias_H.view({1, H, 1})).permute({0, 2, 1});
}

torch::Tensor head_threshold_mask(const torch::Tensor& score_BTH, double threshold,
                                  HeadThresholdMode mode, bool training) {
  const auto hard_BTH = (score_BTH >= threshold).to(score_BTH.scalar_type());
  const bool soft = mode == HeadThresholdMode::kSoft;
  if (!training) return soft ? score_BTH * hard_BTH : hard_BTH;
  return soft ? score_BTH : hard_BTH + score_BTH - score_BTH.detach();
}

torch::Tensor active_rows_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                    const torch::Tensor& v_BKTD, const torch::Tensor& active_BTH,
                                    int64_t block_size) {
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2);
  if (k_BKTD.size(1) == 0 || H % k_BKTD.size(1) != 0 || !k_BKTD.sizes().equals(v_BKTD.sizes()) ||
      k_BKTD.size(2) != T || !active_BTH.sizes().equals({B, T, H}) || block_size < 1) {
    fail("active_rows_attention",
         "expected q_BHTD, k_BKTD = v_BKTD, active_BTH [B, T, H] and "
         "block_size >= 1");
  }
  const int64_t group = H / k_BKTD.size(1);
  const auto active_BHT = active_BTH.permute({0, 2, 1}).to(torch::kCPU, torch::kBool);
  std::vector<torch::Tensor> heads;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const auto rows = active_BHT[b][h].nonzero().flatten().to(q_BHTD.device());
      const auto q_TD = q_BHTD[b][h], k_TD = k_BKTD[b][h / group], v_TD = v_BKTD[b][h / group];
      auto y_TD = torch::zeros_like(q_TD);
      for (int64_t r = 0; r < rows.size(0); r += block_size) {
        const auto rows_R = rows.slice(0, r, r + block_size);
        y_TD = y_TD.index_copy(0, rows_R, rows_attention(q_TD, k_TD, v_TD, rows_R));
      }
      heads.push_back(y_TD);
    }
  }
  return torch::stack(heads).view(q_BHTD.sizes());
}

FlopCount head_threshold_flops(int64_t T, int64_t n_head, int64_t n_kv_head, int64_t head_dim,
                               double active_fraction) {
  const auto attention = attention_flops(T, kDenseWindow, n_head, head_dim);
  const double t = static_cast<double>(T), d = static_cast<double>(head_dim);
  const double h = static_cast<double>(n_head), hk = static_cast<double>(n_head + n_kv_head);
  const double pool = 2.0 * t * hk * d;
  return {active_fraction * attention.forward + pool + 4.0 * t * h * d + t * h * d,
          active_fraction * attention.backward + pool + 8.0 * t * h * d + 2.0 * t * h * d};
}

}  // namespace attnlab::kernels
