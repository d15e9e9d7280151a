// Trainable dynamic mask attention (see dynamic_mask.h): the Δ projection, the streaming
// top-k selection (a heap of the `keep` best keys seen so far, per batch row and kv head) and
// the attention over the gathered kept keys.
#include "attnlab/kernels/dynamic_mask.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
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

struct Key {
  double delta;
  int64_t position;
};

// a ranks before b: larger Δ, ties to the more recent key.
bool ranks_before(const Key& a, const Key& b) {
  return a.delta > b.delta || (a.delta == b.delta && a.position > b.position);
}

// One (batch row, kv head): streams keys 0..S-1 through a heap whose front is the worst kept
// key, and from key S-T on writes the kept positions of query i = key - (S - T) to index_TN.
void select_row(const double* delta_S, int64_t S, int64_t T, int64_t N, int64_t* index_TN) {
  std::vector<Key> kept;
  kept.reserve(N);
  for (int64_t j = 0; j < S; ++j) {
    const Key key{delta_S[j], j};
    if (static_cast<int64_t>(kept.size()) < N) {
      kept.push_back(key);
      std::push_heap(kept.begin(), kept.end(), ranks_before);
    } else if (ranks_before(key, kept.front())) {
      std::pop_heap(kept.begin(), kept.end(), ranks_before);
      kept.back() = key;
      std::push_heap(kept.begin(), kept.end(), ranks_before);
    }
    const int64_t i = j - (S - T);
    if (i < 0) continue;
    for (size_t n = 0; n < kept.size(); ++n) index_TN[i * N + n] = kept[n].position;
  }
}

}  // namespace

torch::Tensor dynamic_mask_delta(const torch::Tensor& v_BKSD, const torch::Tensor& weight_KD,
                                 const torch::Tensor& a_K) {
  if (v_BKSD.dim() != 4) fail("dynamic_mask_delta", "v_BKSD must be [B, K, S, D]");
  const int64_t K = v_BKSD.size(1), D = v_BKSD.size(3);
  if (weight_KD.dim() != 2 || weight_KD.size(0) != K || weight_KD.size(1) != D) {
    fail("dynamic_mask_delta", "weight_KD must be [K, D] = [" + std::to_string(K) + ", " +
                                   std::to_string(D) + "] (v's kv heads and head dim)");
  }
  if (a_K.dim() != 1 || a_K.size(0) != K) {
    fail("dynamic_mask_delta", "a_K must be [K] with K = " + std::to_string(K));
  }
  const auto z_BKS = torch::softplus(torch::einsum("bksd,kd->bks", {v_BKSD, weight_KD}));
  return torch::exp(a_K.view({1, K, 1}) * z_BKS);
}

DynamicMaskSelection dynamic_mask_select(const torch::Tensor& delta_BKS, int64_t T, int64_t keep) {
  if (delta_BKS.dim() != 3) fail("dynamic_mask_select", "delta_BKS must be [B, K, S]");
  const int64_t B = delta_BKS.size(0), K = delta_BKS.size(1), S = delta_BKS.size(2);
  if (keep < 1) fail("dynamic_mask_select", "keep must be >= 1, got " + std::to_string(keep));
  if (T < 1 || T > S) {
    fail("dynamic_mask_select", "T (" + std::to_string(T) + ") must be in [1, S = " +
                                    std::to_string(S) + "]: the queries are the last T keys");
  }
  const int64_t N = std::min(keep, S);
  const auto delta = delta_BKS.detach().to(torch::kCPU, torch::kDouble).contiguous();
  auto index_BKTN = torch::zeros({B, K, T, N}, torch::kLong);
  const double* delta_ptr = delta.data_ptr<double>();
  int64_t* index_ptr = index_BKTN.data_ptr<int64_t>();
  at::parallel_for(0, B * K, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      select_row(delta_ptr + r * S, S, T, N, index_ptr + r * T * N);
  });
  const auto keys_T1 = torch::arange(S - T + 1, S + 1, torch::kLong).unsqueeze(1);
  const auto valid_TN = torch::arange(N, torch::kLong).unsqueeze(0) < keys_T1;
  return {index_BKTN.to(delta_BKS.device()), valid_TN.to(delta_BKS.device())};
}

torch::Tensor dynamic_mask_attention(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                                     const torch::Tensor& v_BKSD, const torch::Tensor& delta_BKS,
                                     const DynamicMaskSelection& selection) {
  const auto& index_BKTN = selection.index_BKTN;
  if (q_BHTD.dim() != 4 || k_BKSD.dim() != 4 || !k_BKSD.sizes().equals(v_BKSD.sizes()) ||
      index_BKTN.dim() != 4) {
    fail("dynamic_mask_attention", "expected q_BHTD, k_BKSD = v_BKSD shapes and index_BKTN");
  }
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKSD.size(1), N = index_BKTN.size(3);
  if (K == 0 || H % K != 0 || k_BKSD.size(0) != B || k_BKSD.size(3) != D ||
      !index_BKTN.sizes().equals({B, K, T, N})) {
    fail("dynamic_mask_attention", "q_BHTD, k_BKSD and the selection disagree in B, H/K, T or D");
  }
  const auto flat_BKM = index_BKTN.reshape({B, K, T * N});
  const auto gather_BKTND = [&](const torch::Tensor& x_BKSD) {
    return x_BKSD.gather(2, flat_BKM.unsqueeze(-1).expand({B, K, T * N, D})).view({B, K, T, N, D});
  };
  const auto delta_BK1TN =
      delta_BKS.to(q_BHTD.scalar_type()).gather(2, flat_BKM).view({B, K, 1, T, N});
  const auto q_BKGTD = q_BHTD.reshape({B, K, H / K, T, D});
  auto s_BKGTN = torch::einsum("bkgtd,bktnd->bkgtn", {q_BKGTD, gather_BKTND(k_BKSD)}) /
                     std::sqrt(static_cast<double>(D)) +
                 delta_BK1TN;
  s_BKGTN = s_BKGTN.masked_fill(selection.valid_TN.logical_not(), -INFINITY);
  const auto y_BKGTD =
      torch::einsum("bkgtn,bktnd->bkgtd", {torch::softmax(s_BKGTN, -1), gather_BKTND(v_BKSD)});
  return y_BKGTD.reshape({B, H, T, D});
}

double dynamic_mask_pairs(int64_t T, int64_t keep) {
  if (keep < 1) fail("dynamic_mask_pairs", "keep must be >= 1, got " + std::to_string(keep));
  return visible_pairs(T, keep - 1);  // min(i + 1, keep) keys: a window of keep - 1
}

FlopCount dynamic_mask_flops(int64_t T, int64_t keep, int64_t n_head, int64_t n_kv_head,
                             int64_t head_dim) {
  const double attention =
      4.0 * static_cast<double>(head_dim * n_head) * dynamic_mask_pairs(T, keep);
  const double projection = 2.0 * static_cast<double>(T * n_kv_head * head_dim);
  return {attention + projection, 2.5 * attention + 2.0 * projection};
}

}  // namespace attnlab::kernels
