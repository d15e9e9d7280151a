// Native Sparse Attention (see nsa.h): the block compression, the compressed branch, the block
// selection from its probabilities, the selected and window branches and their gated sum.
#include "attnlab/kernels/nsa.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/window.h"

namespace attnlab::kernels {
namespace {

[[noreturn]] void fail(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string("attnlab::kernels::") + fn + ": " + what);
}

// Softmax of scores_BKGTN over the positions where visible_TN holds, 0 elsewhere; a row with no
// visible position is all 0 (and passes no gradient).
torch::Tensor masked_softmax(const torch::Tensor& scores_BKGTN, const torch::Tensor& visible_TN) {
  const auto any_T1 = visible_TN.any(-1, /*keepdim=*/true);
  const auto hidden = torch::where(any_T1, torch::full({}, -INFINITY, scores_BKGTN.options()),
                                   torch::zeros({}, scores_BKGTN.options()));
  const auto p = torch::softmax(torch::where(visible_TN, scores_BKGTN, hidden), -1);
  return p * visible_TN.to(p.scalar_type());
}

// softmax(q·kᵀ/√D over visible) · v per kv group; visible_BKTS broadcasts over the group.
// q_BKGTD [B, K, G, T, D], k_BKSD / v_BKSD [B, K, S, D] -> (y_BKGTD, p_BKGTS).
std::pair<torch::Tensor, torch::Tensor> grouped_attention(const torch::Tensor& q_BKGTD,
                                                          const torch::Tensor& k_BKSD,
                                                          const torch::Tensor& v_BKSD,
                                                          const torch::Tensor& visible) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q_BKGTD.size(-1)));
  const auto scores = torch::matmul(q_BKGTD, k_BKSD.unsqueeze(2).transpose(-2, -1)) * scale;
  const auto p = masked_softmax(scores, visible);
  return {torch::matmul(p, v_BKSD.unsqueeze(2)), p};
}

// x_BKTD -> c_BKND: block i is W[κ] · concat_m(x[i·d + m] + pos[κ, m]) (no pos when undefined).
torch::Tensor compress(const torch::Tensor& x_BKTD, const torch::Tensor& weight_KDF,
                       const torch::Tensor& position_KLD, const NsaParams& params, int64_t N) {
  const int64_t B = x_BKTD.size(0), K = x_BKTD.size(1), D = x_BKTD.size(3);
  if (N == 0) return torch::zeros({B, K, 0, D}, weight_KDF.options());
  const auto blocks_BKNLD = x_BKTD.to(weight_KDF.scalar_type())
                                .unfold(2, params.block_length, params.stride)
                                .transpose(-2, -1);
  const auto embedded_BKNLD =
      position_KLD.defined() ? blocks_BKNLD + position_KLD.unsqueeze(1) : blocks_BKNLD;
  const auto flat_BKNF = embedded_BKNLD.reshape({B, K, N, params.block_length * D});
  return torch::matmul(flat_BKNF, weight_KDF.transpose(-2, -1));
}

// overlap_NJ[i][j] = 1 when compressed block i shares a position with selection block j.
torch::Tensor block_overlap(int64_t N, int64_t J, const NsaParams& params,
                            const torch::TensorOptions& options) {
  const auto start_N1 = torch::arange(N, options.dtype(torch::kLong)).unsqueeze(1) * params.stride;
  const auto start_1J =
      torch::arange(J, options.dtype(torch::kLong)).unsqueeze(0) * params.select_block;
  return torch::maximum(start_N1, start_1J)
      .lt(torch::minimum(start_N1 + params.block_length, start_1J + params.select_block))
      .to(options.dtype());
}

// selected_BKTJ: block 0 and query t's own block always, then the most important blocks that
// start at or before t (ties to the later block), top_n in all.
torch::Tensor select_blocks(const torch::Tensor& importance_BKTJ, const NsaParams& params) {
  const int64_t T = importance_BKTJ.size(2), J = importance_BKTJ.size(3);
  const auto device = importance_BKTJ.device();
  const auto t_T1 = torch::arange(T, torch::dtype(torch::kLong).device(device)).unsqueeze(1);
  const auto j_1J = torch::arange(J, torch::dtype(torch::kLong).device(device)).unsqueeze(0);
  const auto candidate_TJ = (j_1J * params.select_block).le(t_T1);
  const auto forced_TJ = j_1J.eq(0).logical_or(j_1J.eq(t_T1.div(params.select_block, "floor")));
  const auto score_BKTJ = importance_BKTJ.masked_fill(forced_TJ, INFINITY);
  // rank of j = the candidates j2 beating it: a higher score, or the same and later.
  const auto s_j = score_BKTJ.unsqueeze(-1), s_j2 = score_BKTJ.unsqueeze(-2);
  const auto later_JJ = j_1J.gt(j_1J.t());  // [j][j2]: j2 > j
  const auto beats = s_j2.gt(s_j).logical_or(s_j2.eq(s_j).logical_and(later_JJ));
  const auto rank_BKTJ = beats.logical_and(candidate_TJ.unsqueeze(1)).sum(-1);
  return rank_BKTJ.lt(params.top_n).logical_and(candidate_TJ);
}

// The compressed branch (y_BKGTD) and the selection it makes (selected_BKTJ).
std::pair<torch::Tensor, torch::Tensor> compressed_branch(const torch::Tensor& q_BKGTD,
                                                          const torch::Tensor& k_BKTD,
                                                          const torch::Tensor& v_BKTD,
                                                          const NsaWeights& w,
                                                          const NsaParams& params) {
  const int64_t T = k_BKTD.size(2), N = nsa_compressed_blocks(T, params);
  const int64_t J = (T + params.select_block - 1) / params.select_block;
  const auto dtype = q_BKGTD.scalar_type();
  const auto kc = compress(k_BKTD, w.k_weight_KDF, {}, params, N).to(dtype);
  const auto vc = compress(v_BKTD, w.v_weight_KDF, w.v_position_KLD, params, N).to(dtype);
  const auto long_options = torch::dtype(torch::kLong).device(q_BKGTD.device());
  const auto end_1N =
      torch::arange(N, long_options).unsqueeze(0) * params.stride + params.block_length - 1;
  const auto visible_TN = end_1N.le(torch::arange(T, long_options).unsqueeze(1));
  const auto [y_BKGTD, p_BKGTN] = grouped_attention(q_BKGTD, kc, vc, visible_TN);
  const auto overlap_NJ = block_overlap(N, J, params, q_BKGTD.options());
  const auto importance_BKTJ = torch::matmul(p_BKGTN.detach().sum(2), overlap_NJ);
  return {y_BKGTD, select_blocks(importance_BKTJ, params)};
}

}  // namespace

void nsa_check_params(const NsaParams& p) {
  if (p.block_length < 1 || p.stride < 1 || p.stride > p.block_length) {
    fail("nsa_check_params",
         "stride must be in [1, block_length], got stride=" + std::to_string(p.stride) +
             ", block_length=" + std::to_string(p.block_length));
  }
  if (p.select_block < 1) fail("nsa_check_params", "select_block must be >= 1");
  if (p.top_n < 2) {
    fail("nsa_check_params", "top_n must be >= 2 (block 0 and the query's own block count), got " +
                                 std::to_string(p.top_n));
  }
  if (p.window < 0) fail("nsa_check_params", "window must be >= 0");
}

int64_t nsa_compressed_blocks(int64_t T, const NsaParams& params) {
  return T >= params.block_length ? (T - params.block_length) / params.stride + 1 : 0;
}

NsaOutput nsa_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const torch::Tensor& x_BTC,
                        const NsaWeights& weights, const NsaParams& params) {
  nsa_check_params(params);
  if (q_BHTD.dim() != 4 || k_BKTD.dim() != 4 || !k_BKTD.sizes().equals(v_BKTD.sizes()) ||
      x_BTC.dim() != 3) {
    fail("nsa_attention", "expected q_BHTD, k_BKTD = v_BKTD shapes [B, *, T, D] and x_BTC");
  }
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKTD.size(1);
  if (K == 0 || H % K != 0 || k_BKTD.size(0) != B || k_BKTD.size(2) != T || k_BKTD.size(3) != D ||
      x_BTC.size(0) != B || x_BTC.size(1) != T) {
    fail("nsa_attention", "q_BHTD, k_BKTD and x_BTC disagree in B, H/K, T or D (S must equal T)");
  }
  if (weights.gate_weight_GC.size(0) != 3 * H || weights.k_weight_KDF.size(0) != K) {
    fail("nsa_attention",
         "weights sized for other dims: gate_weight needs 3·H rows, the "
         "compression K");
  }
  const auto q_BKGTD = q_BHTD.reshape({B, K, H / K, T, D});
  const auto [y_cmp_BKGTD, selected_BKTJ] =
      compressed_branch(q_BKGTD, k_BKTD, v_BKTD, weights, params);
  const auto long_options = torch::dtype(torch::kLong).device(q_BHTD.device());
  const auto block_S = torch::arange(T, long_options).div(params.select_block, "floor");
  const auto causal_TS = torch::ones({T, T}, long_options.dtype(torch::kBool)).tril();
  const auto kept_BKTS = selected_BKTJ.index_select(-1, block_S).logical_and(causal_TS);
  const auto y_sel_BKGTD = grouped_attention(q_BKGTD, k_BKTD, v_BKTD, kept_BKTS.unsqueeze(2)).first;
  AttentionParams window;
  window.window = params.window;
  const auto y_win_BHTD = causal_attention(q_BHTD, k_BKTD, v_BKTD, window);

  const auto x = x_BTC.to(weights.gate_weight_GC.scalar_type());
  const auto gate_BT3H =
      torch::sigmoid(torch::nn::functional::linear(x, weights.gate_weight_GC, weights.gate_bias_G))
          .reshape({B, T, 3, H});
  const auto g_3BHT1 = gate_BT3H.to(q_BHTD.scalar_type()).permute({2, 0, 3, 1}).unsqueeze(-1);
  const auto y_BHTD = g_3BHT1[0] * y_cmp_BKGTD.reshape({B, H, T, D}) +
                      g_3BHT1[1] * y_sel_BKGTD.reshape({B, H, T, D}) + g_3BHT1[2] * y_win_BHTD;
  const double causal_pairs = static_cast<double>(B * K) * T * (T + 1) / 2.0;
  return {y_BHTD, gate_BT3H.detach(), kept_BKTS.sum().to(torch::kDouble) / causal_pairs};
}

FlopCount nsa_flops(int64_t T, const NsaParams& params, int64_t n_head, int64_t n_kv_head,
                    int64_t head_dim, int64_t d_model) {
  const double H = static_cast<double>(n_head), D = static_cast<double>(head_dim);
  const int64_t N = nsa_compressed_blocks(T, params), ls = params.select_block;
  double pairs = 0.0;  // (query, compressed block) and (query, kept key) pairs
  for (int64_t t = 0; t < T; ++t) {
    if (t >= params.block_length - 1) pairs += (t - params.block_length + 1) / params.stride + 1;
    const int64_t own = t / ls;
    pairs += static_cast<double>(std::min(params.top_n, own + 1) - 1) * ls + (t - own * ls + 1);
  }
  pairs += visible_pairs(T, params.window);
  const double attention = 4.0 * D * H * pairs;
  const double compression = 4.0 * static_cast<double>(n_kv_head * N * params.block_length) * D * D;
  const double gate = 2.0 * static_cast<double>(T) * 3.0 * H * static_cast<double>(d_model);
  const double scaling = 3.0 * static_cast<double>(T) * H * D;
  return {attention + compression + gate + scaling,
          2.5 * attention + 2.0 * compression + 2.0 * gate + 2.0 * scaling};
}

}  // namespace attnlab::kernels
