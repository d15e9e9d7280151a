// The SeerAttention-style block gate (see block_gate.h): gate vectors from prefix-pooled q/k,
// block scores and their selection, attention over the kept blocks with the log-gate bias, the
// pooled dense teacher, the distillation loss and recall, and the FLOPs count.
#include "attnlab/kernels/block_gate.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "attnlab/kernels/head_threshold.h"

namespace attnlab::kernels {
namespace {

[[noreturn]] void fail(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string("attnlab::kernels::") + fn + ": " + what);
}

int64_t blocks_of(int64_t T, int64_t block_size) { return (T + block_size - 1) / block_size; }

void check_qk(const char* fn, const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
              int64_t block_size) {
  if (q_BHTD.dim() != 4 || k_BKTD.dim() != 4 || k_BKTD.size(0) != q_BHTD.size(0) ||
      k_BKTD.size(1) == 0 || q_BHTD.size(1) % k_BKTD.size(1) != 0 ||
      k_BKTD.size(2) != q_BHTD.size(2) || k_BKTD.size(3) != q_BHTD.size(3)) {
    fail(fn, "expected q_BHTD [B, H, T, D] and k_BKTD [B, K, T, D] with K dividing H");
  }
  if (block_size < 1) fail(fn, "block_size must be >= 1, got " + std::to_string(block_size));
}

// Block index of every position, [T] int64.
torch::Tensor block_index_T(int64_t T, int64_t block_size, const torch::Device& device) {
  return torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device))
      .div(block_size, "floor");
}

// [T, N] masks over (query, key block): causal j <= i(t), and the middle blocks 0 < j < i(t).
struct BlockMasks {
  torch::Tensor causal_TN, middle_TN;
};

BlockMasks block_masks(int64_t T, int64_t block_size, const torch::Device& device) {
  const auto i_T1 = block_index_T(T, block_size, device).unsqueeze(1);
  const auto j_1N = torch::arange(blocks_of(T, block_size), i_T1.options()).unsqueeze(0);
  return {j_1N <= i_T1, (j_1N > 0) & (j_1N < i_T1)};
}

// x_BKTG rotated at the positions pos_T (RoPE as the model's: halves, inv_freq θ^(-2i/G)).
torch::Tensor rope(const torch::Tensor& x_BKTG, const torch::Tensor& pos_T, double theta) {
  const int64_t G = x_BKTG.size(3);
  const auto opts = torch::TensorOptions().dtype(torch::kDouble).device(x_BKTG.device());
  const auto inv_freq = torch::pow(theta, -torch::arange(0, G, 2, opts) / static_cast<double>(G));
  const auto freqs_TG2 = torch::outer(pos_T.to(torch::kDouble), inv_freq);
  const auto angle_TG = torch::cat({freqs_TG2, freqs_TG2}, -1);
  const auto halves = x_BKTG.chunk(2, -1);
  const auto rotated = torch::cat({-halves[1], halves[0]}, -1);
  return x_BKTG * angle_TG.cos().to(x_BKTG.scalar_type()) +
         rotated * angle_TG.sin().to(x_BKTG.scalar_type());
}

// x_BKTD projected per kv head by w_KGD -> [B, K, T, G].
torch::Tensor project(const torch::Tensor& x_BKTD, const torch::Tensor& w_KGD) {
  return torch::matmul(x_BKTD, w_KGD.transpose(1, 2).unsqueeze(0));
}

// The `top` middle blocks of largest value per query, as a bool [B, K, T, N] mask.
torch::Tensor top_middle(const torch::Tensor& value_BKTN, const torch::Tensor& middle_TN,
                         int64_t top) {
  auto chosen = torch::zeros(value_BKTN.sizes(), middle_TN.options());
  top = std::min(top, value_BKTN.size(3));
  if (top == 0) return chosen;
  const auto masked = value_BKTN.detach().masked_fill(middle_TN.logical_not(), -INFINITY);
  const auto index_BKTk = std::get<1>(masked.topk(top, 3));
  return chosen.scatter(3, index_BKTk, true) & middle_TN;
}

}  // namespace

BlockGate block_gate(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                     const BlockGateWeights& weights, const BlockGateParams& params) {
  check_qk("block_gate", q_BHTD, k_BKTD, params.block_size);
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKTD.size(1), L = params.block_size;
  const auto& wq = weights.query_KGD;
  if (wq.dim() != 3 || wq.size(0) != K || wq.size(2) != D || wq.size(1) % 2 != 0 ||
      !weights.key_KGD.sizes().equals(wq.sizes())) {
    fail("block_gate", "weights must be query_KGD = key_KGD [K, G, D] with G even, K = " +
                           std::to_string(K) + ", D = " + std::to_string(D));
  }
  const int64_t N = blocks_of(T, L), G = wq.size(1);
  const auto i_T = block_index_T(T, L, q_BHTD.device());
  const auto start_T = i_T * L;
  const auto qbar_BKTD = q_BHTD.reshape({B, K, H / K, T, D}).mean(2);
  const auto gq_BKTG =
      rope(project(block_prefix_mean(qbar_BKTD, L), wq), start_T, params.rope_theta);
  const auto gk_BKTG =
      rope(project(block_prefix_mean(k_BKTD, L), weights.key_KGD), start_T, params.rope_theta);
  // Block j's key is the prefix mean at its last position (the whole block for j < i(t)).
  const auto last_N = torch::clamp_max(torch::arange(1, N + 1, i_T.options()) * L - 1, T - 1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(G));
  const auto full_BKTN = torch::matmul(gq_BKTG, gk_BKTG.index_select(2, last_N).transpose(2, 3));
  const auto diag_BKT1 = (gq_BKTG * gk_BKTG).sum(-1, true);
  const auto masks = block_masks(T, L, q_BHTD.device());
  const auto is_diag_TN = torch::arange(N, i_T.options()).unsqueeze(0) == i_T.unsqueeze(1);
  const auto s_BKTN = torch::where(is_diag_TN, diag_BKT1, full_BKTN) * scale;
  const auto log_p_BKTN =
      torch::log_softmax(s_BKTN.masked_fill(masks.causal_TN.logical_not(), -INFINITY), -1);
  const auto always_TN = masks.causal_TN & masks.middle_TN.logical_not();
  const auto chosen_BKTN = params.threshold > 0
                               ? masks.middle_TN & (log_p_BKTN.detach().exp() >= params.threshold)
                               : top_middle(s_BKTN, masks.middle_TN, params.top_blocks);
  return {log_p_BKTN, chosen_BKTN | always_TN};
}

torch::Tensor block_gate_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                   const torch::Tensor& v_BKTD, const BlockGate& gate,
                                   int64_t block_size) {
  check_qk("block_gate_attention", q_BHTD, k_BKTD, block_size);
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKTD.size(1);
  if (!v_BKTD.sizes().equals(k_BKTD.sizes()) ||
      !gate.log_p_BKTN.sizes().equals({B, K, T, blocks_of(T, block_size)})) {
    fail("block_gate_attention", "expected v_BKTD shaped as k_BKTD and the gate [B, K, T, N]");
  }
  const auto key_block_S = block_index_T(T, block_size, q_BHTD.device());
  const auto causal_TS = torch::ones({T, T}, key_block_S.options().dtype(torch::kBool)).tril();
  const auto sees_BKTS = gate.kept_BKTN.index_select(3, key_block_S) & causal_TS;
  const auto bias_BKTS = gate.log_p_BKTN.to(q_BHTD.scalar_type())
                             .index_select(3, key_block_S)
                             .masked_fill(sees_BKTS.logical_not(), -INFINITY);
  const auto q_BKGTD = q_BHTD.reshape({B, K, H / K, T, D});
  const auto s_BKGTS = torch::matmul(q_BKGTD, k_BKTD.unsqueeze(2).transpose(3, 4)) /
                           std::sqrt(static_cast<double>(D)) +
                       bias_BKTS.unsqueeze(2);
  const auto y_BKGTD = torch::matmul(torch::softmax(s_BKGTS, -1), v_BKTD.unsqueeze(2));
  return y_BKGTD.reshape({B, H, T, D});
}

torch::Tensor block_gate_teacher(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                                 int64_t block_size) {
  check_qk("block_gate_teacher", q_BHTD, k_BKTD, block_size);
  torch::NoGradGuard no_grad;
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKTD.size(1), N = blocks_of(T, block_size);
  const auto future_TS = torch::ones({T, T}, q_BHTD.options().dtype(torch::kBool)).triu(1);
  const auto s_BKGTS =
      torch::matmul(q_BHTD.reshape({B, K, H / K, T, D}), k_BKTD.unsqueeze(2).transpose(3, 4)) /
      std::sqrt(static_cast<double>(D));
  const auto p_BKTS = torch::softmax(s_BKGTS.masked_fill(future_TS, -INFINITY), -1).mean(2);
  const auto pooled_BKTN = torch::constant_pad_nd(p_BKTS, {0, N * block_size - T})
                               .view({B, K, T, N, block_size})
                               .sum(-1);
  return pooled_BKTN / pooled_BKTN.sum(-1, true);
}

BlockGateDistillation block_gate_distillation(const torch::Tensor& teacher_BKTN,
                                              const BlockGate& gate, int64_t block_size,
                                              int64_t top_blocks) {
  const auto& log_p = gate.log_p_BKTN;
  if (teacher_BKTN.dim() != 4 || !teacher_BKTN.sizes().equals(log_p.sizes()) || block_size < 1 ||
      top_blocks < 0) {
    fail("block_gate_distillation",
         "expected teacher_BKTN shaped as the gate's log p, block_size >= 1, top_blocks >= 0");
  }
  const auto masks = block_masks(log_p.size(2), block_size, log_p.device());
  const auto teacher = teacher_BKTN.to(log_p.scalar_type());
  const auto cross_BKTN = teacher * log_p.masked_fill(masks.causal_TN.logical_not(), 0.0);
  const auto loss = (torch::xlogy(teacher, teacher) - cross_BKTN).sum(-1).mean();
  torch::NoGradGuard no_grad;
  const auto want_BKTN = top_middle(teacher, masks.middle_TN, top_blocks);
  const auto got_BKTN = top_middle(log_p, masks.middle_TN, top_blocks);
  const auto n_BKT = want_BKTN.sum(-1).to(torch::kDouble);
  const auto hit_BKT = (want_BKTN & got_BKTN).sum(-1).to(torch::kDouble);
  const auto has_choice = n_BKT > 0;
  const auto recall =
      has_choice.any().item<bool>()
          ? (hit_BKT.masked_select(has_choice) / n_BKT.masked_select(has_choice)).mean()
          : torch::ones({}, n_BKT.options());
  return {loss, recall};
}

BlockGateKept block_gate_kept(const torch::Tensor& kept_BKTN, int64_t block_size) {
  if (kept_BKTN.dim() != 4 || block_size < 1) {
    fail("block_gate_kept", "expected kept_BKTN [B, K, T, N] and block_size >= 1");
  }
  const auto kept = kept_BKTN.detach().to(torch::kDouble);
  const int64_t T = kept.size(2);
  const auto masks = block_masks(T, block_size, kept.device());
  const auto start_1N = torch::arange(kept.size(3), kept.options()).unsqueeze(0) * block_size;
  const auto pos_T1 = torch::arange(T, kept.options()).unsqueeze(1);
  const auto keys_TN = (pos_T1 - start_1N + 1).clamp(0, block_size);  // causal keys per block
  const double sequences = static_cast<double>(kept.size(0) * kept.size(1));
  return {kept.sum() / (masks.causal_TN.sum().to(torch::kDouble) * sequences),
          (kept * keys_TN).sum() / (keys_TN.sum() * sequences)};
}

double block_gate_topk_pairs(int64_t T, int64_t block_size, int64_t top_blocks) {
  double pairs = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t i = t / block_size;
    if (i == 0) {
      pairs += static_cast<double>(t + 1);
      continue;
    }
    const int64_t blocks = 1 + std::min(top_blocks, i - 1);  // block 0 and the middle ones
    pairs += static_cast<double>(blocks * block_size + t - i * block_size + 1);
  }
  return pairs;
}

FlopCount block_gate_flops(int64_t T, int64_t n_head, int64_t n_kv_head, int64_t head_dim,
                           int64_t gate_dim, int64_t block_size, double kept_pairs) {
  const double attention = 4.0 * static_cast<double>(head_dim * n_head) * kept_pairs;
  const double projections = 2.0 * 2.0 * static_cast<double>(T * n_kv_head * gate_dim * head_dim);
  double block_pairs = 0.0;
  for (int64_t t = 0; t < T; ++t) block_pairs += static_cast<double>(t / block_size + 1);
  const double scores = 2.0 * static_cast<double>(gate_dim * n_kv_head) * block_pairs;
  return {attention + projections + scores, 2.5 * attention + 2.0 * projections + 2.0 * scores};
}

}  // namespace attnlab::kernels
