// Conformance reference for plugin `nsa` (plugins/nsa/README.md), from the formula in fp64 with
// loops: block i of keys is compressed to c_i = W_κ · concat_m(k[i·d + m]), of values to
// c'_i = W'_κ · concat_m(v[i·d + m] + pos_κ[m]);
// query t attends over the blocks with i·d + l - 1 <= t; selection block j's importance is the
// sum of those probabilities over the heads of the kv group and the compressed blocks sharing a
// position with it; query t keeps block 0, its own block and the most important others starting
// at or before t (ties to the later block), top_n in all, and attends over their keys <= t; the
// window branch sees keys t-w..t; the gates σ(x W_gᵀ + b) mix the three. FLOPs: the compression,
// the three attentions pair by pair, the gate projection and the three scalings.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../../kernels/naive_attention.h"
#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

struct Options {
  int64_t l, d, ls, top_n, w;
};

Options read(const nlohmann::json& o) {
  return {o.at("block_length").get<int64_t>(), o.at("stride").get<int64_t>(),
          o.at("select_block").get<int64_t>(), o.at("top_n").get<int64_t>(),
          o.at("sliding_window").get<int64_t>()};
}

int64_t compressed_blocks(int64_t T, const Options& o) {
  int64_t n = 0;
  while (n * o.d + o.l <= T) ++n;
  return n;
}

// [B, K, N, D]: each block's rows plus the position embedding (if any), concatenated, times W_κ.
torch::Tensor compress(const torch::Tensor& x_BKTD, const torch::Tensor& w_KDF,
                       const torch::Tensor& pos_KLD, const Options& o, int64_t N) {
  const int64_t B = x_BKTD.size(0), K = x_BKTD.size(1), D = x_BKTD.size(3);
  auto c = torch::zeros({B, K, N, D}, torch::kDouble);
  for (int64_t i = 0; i < N; ++i) {
    auto block_BKLD = x_BKTD.narrow(2, i * o.d, o.l);
    if (pos_KLD.defined()) block_BKLD = block_BKLD + pos_KLD;
    const auto flat_BKF = block_BKLD.reshape({B, K, o.l * D});
    c.select(2, i).copy_((flat_BKF.unsqueeze(2) * w_KDF.unsqueeze(0)).sum(-1));
  }
  return c;
}

// Softmax over the visible entries of the last dim; rows with none visible give 0.
torch::Tensor softmax_where(const torch::Tensor& s, const torch::Tensor& visible) {
  const auto p = torch::softmax(s.masked_fill(visible.logical_not(), -INFINITY), -1);
  return torch::where(visible.any(-1, true), p, torch::zeros_like(p));
}

// kept_BKTS[b][κ][t][s]: key s is in one of query t's selected blocks and s <= t.
torch::Tensor select_keys(const torch::Tensor& p_BHTN, int64_t K, const Options& o) {
  const int64_t B = p_BHTN.size(0), H = p_BHTN.size(1), T = p_BHTN.size(2);
  const int64_t N = p_BHTN.size(3), G = H / K;
  auto kept = torch::zeros({B, K, T, T}, torch::kBool);
  auto p = p_BHTN.accessor<double, 4>();
  auto out = kept.accessor<bool, 4>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t kv = 0; kv < K; ++kv) {
      for (int64_t t = 0; t < T; ++t) {
        const int64_t own = t / o.ls;
        std::vector<double> importance(own + 1, 0.0);
        for (int64_t j = 0; j <= own; ++j) {
          for (int64_t i = 0; i < N; ++i) {
            const bool overlaps =
                std::max(i * o.d, j * o.ls) < std::min(i * o.d + o.l, (j + 1) * o.ls);
            for (int64_t g = 0; g < G && overlaps; ++g) importance[j] += p[b][kv * G + g][t][i];
          }
        }
        std::vector<int64_t> chosen = {0};
        if (own != 0) chosen.push_back(own);
        std::vector<int64_t> others;
        for (int64_t j = own - 1; j >= 1; --j) others.push_back(j);  // later first: ties to it
        std::stable_sort(others.begin(), others.end(),
                         [&](int64_t a, int64_t c) { return importance[a] > importance[c]; });
        for (const int64_t j : others) {
          if (static_cast<int64_t>(chosen.size()) < o.top_n) chosen.push_back(j);
        }
        for (const int64_t j : chosen) {
          for (int64_t s = j * o.ls; s < (j + 1) * o.ls && s <= t; ++s) out[b][kv][t][s] = true;
        }
      }
    }
  }
  return kept;
}

// The compression of keys and values, the gate projection and the 3 output scalings.
ReferenceFlops projection_and_gate_flops(int64_t T, int64_t N, const Options& o,
                                         const attnlab_layer_dims& dims) {
  const int64_t H = dims.n_head, D = dims.head_dim;
  ReferenceFlops flops;
  for (int64_t kv_and_head = 0; kv_and_head < 2 * dims.n_kv_head; ++kv_and_head) {
    flops += projection_flops(N, D, o.l * D);  // keys and values of every kv head
  }
  flops += gate_flops(T, 3 * H, dims.d_model, H, D);  // the projection and one scaling
  for (int64_t extra = 0; extra < 2; ++extra) {
    for (int64_t channel = 0; channel < T * H * D; ++channel) {
      flops.forward += 1.0;   // y += o · g
      flops.backward += 2.0;  // do = dy · g, dg += dy · o
    }
  }
  return flops;
}

ReferenceOutput nsa(const ReferenceInput& in) {
  const int64_t B = in.q_BHTD.size(0), H = in.q_BHTD.size(1), K = in.k_BKTD.size(1);
  const int64_t T = in.q_BHTD.size(2), D = in.q_BHTD.size(3), G = H / K;
  const auto o = read(in.options);
  const int64_t N = compressed_blocks(T, o);
  const auto kc = compress(in.k_BKTD, parameter(*in.variant, "compress_k_weight"), {}, o, N);
  const auto vc = compress(in.v_BKTD, parameter(*in.variant, "compress_v_weight"),
                           parameter(*in.variant, "compress_v_position"), o, N);
  auto complete_TN = torch::zeros({T, N}, torch::kBool);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t i = 0; i < N; ++i) complete_TN[t][i] = i * o.d + o.l - 1 <= t;
  }
  const auto p_BHTN = softmax_where(
      torch::matmul(in.q_BHTD, kc.repeat_interleave(G, 1).transpose(-2, -1)) / std::sqrt(D * 1.0),
      complete_TN);
  const auto y_cmp = torch::matmul(p_BHTN, vc.repeat_interleave(G, 1));
  const auto kept_BKTS = select_keys(p_BHTN, K, o);
  const auto p_sel =
      softmax_where(torch::matmul(in.q_BHTD, in.k_BKTD.repeat_interleave(G, 1).transpose(-2, -1)) /
                        std::sqrt(D * 1.0),
                    kept_BKTS.repeat_interleave(G, 1));
  const auto y_sel = torch::matmul(p_sel, in.v_BKTD.repeat_interleave(G, 1));
  const auto y_win = naive_attention(in.q_BHTD, in.k_BKTD, in.v_BKTD, o.w);
  const auto g_BT3H =
      torch::sigmoid(torch::matmul(in.x_BTC, parameter(*in.variant, "gate_weight").t()) +
                     parameter(*in.variant, "gate_bias"))
          .view({B, T, 3, H});
  const auto gate = [&](int64_t branch) {
    return g_BT3H.select(2, branch).permute({0, 2, 1}).unsqueeze(-1);
  };
  const auto y = gate(0) * y_cmp + gate(1) * y_sel + gate(2) * y_win;

  auto flops = projection_and_gate_flops(T, N, o, in.dims);
  auto complete = complete_TN.accessor<bool, 2>();
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = 0; i < N; ++i) {
        if (!complete[t][i]) continue;
        flops.forward += 4.0 * D;    // q_t·c_i, p_ti·c'_i
        flops.backward += 10.0 * D;  // as attention_flops: 5 products per pair
      }
    }
  }
  // The first sequence's kept keys (the count is the same in every sequence).
  auto kept = kept_BKTS.accessor<bool, 4>();
  flops += attention_flops(H, T, D,
                           [&](int64_t h, int64_t i, int64_t j) { return kept[0][h / G][i][j]; });
  flops += attention_flops(H, T, D, [&](int64_t, int64_t i, int64_t j) { return i - j <= o.w; });
  return {y, flops};
}

}  // namespace

// small: blocks of 4 every 2 positions, selection blocks of 4 of which 3 are kept (so the
// choice matters at T = 40), a window of 5, noisy compression weights and wide gates; smooth:
// top_n large enough that every block is kept (the choice itself is discrete).
ATTNLAB_PLUGIN_REFERENCE("nsa", PluginReference{nsa,
                                                {{"top_n", 64}},
                                                {{"block_length", 4},
                                                 {"stride", 2},
                                                 {"select_block", 4},
                                                 {"top_n", 3},
                                                 {"sliding_window", 5},
                                                 {"compress_init_std", 0.3},
                                                 {"gate_weight_init_std", 0.5},
                                                 {"gate_bias_init", 0.3}}});

}  // namespace attnlab::test
