// The CPU backend of causal_attention (attention_dispatch.cpp checks the inputs and picks it):
// block-by-block causal/windowed GQA attention with a recomputing backward (see attention.h).
//
// Query heads are grouped by their kv head: q_BHTD is viewed as [B, K, G, T, D] (G = H / K)
// and a query block [t0, t1) becomes one [B, K, G·bq, D] matrix, so k and v are never
// repeated. A query block only meets the keys it can see, [first_visible_key(t0), t1), so a
// window of w costs O(bq·(w + bq)) per block and dense costs O(bq·t1). The softmax of a
// block is exact (all its keys are present at once); the backward recomputes it from the
// saved logsumexp.
#include <torch/torch.h>

#include <limits>

#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/attention_backend.h"

namespace attnlab::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using torch::indexing::Slice;

struct Dims {
  int64_t B, H, K, G, T, D;
};

// True where query t0 + r must NOT see key key_begin + c: shape [t1 - t0, t1 - key_begin].
torch::Tensor hidden_mask(int64_t t0, int64_t t1, int64_t key_begin, int64_t window,
                          const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto i = torch::arange(t0, t1, opts).unsqueeze(1);
  const auto j = torch::arange(key_begin, t1, opts).unsqueeze(0);
  auto hidden = j > i;
  if (window != kDenseWindow) hidden.logical_or_(j < i - window);
  return hidden;
}

// One query block [t0, t1) and the keys it sees, [key_begin, t1).
struct Block {
  int64_t t0, t1, key_begin;
  int64_t rows() const { return t1 - t0; }
  int64_t keys() const { return t1 - key_begin; }
};

template <class Fn>
void for_each_block(const Dims& d, const AttentionParams& p, Fn&& fn) {
  for (int64_t t0 = 0; t0 < d.T; t0 += p.block_size) {
    const int64_t t1 = std::min(t0 + p.block_size, d.T);
    fn(Block{t0, t1, first_visible_key(t0, p.window)});
  }
}

// The block's queries as one [B, K, G·bq, D] matrix per kv head (q5 is [B, K, G, T, D]).
torch::Tensor query_rows(const torch::Tensor& q5, const Dims& d, const Block& b) {
  return q5.index({Slice(), Slice(), Slice(), Slice(b.t0, b.t1)})
      .reshape({d.B, d.K, d.G * b.rows(), d.D});
}

// Masked scores of a block, q_rows (already scaled) against its keys: [B, K, G·bq, nk].
torch::Tensor block_scores(const torch::Tensor& q_rows, const torch::Tensor& k, const Dims& d,
                           const Block& b, const AttentionParams& p) {
  const auto k_rng = k.index({Slice(), Slice(), Slice(b.key_begin, b.t1)});
  auto s = torch::matmul(q_rows, k_rng.transpose(-2, -1));
  s.view({d.B, d.K, d.G, b.rows(), b.keys()})
      .masked_fill_(hidden_mask(b.t0, b.t1, b.key_begin, p.window, s.device()),
                    -std::numeric_limits<double>::infinity());
  return s;
}

torch::Tensor gate_rows(const torch::Tensor& gate_BTH, const Dims& d, const Block& b) {
  // [B, bq, H] -> [B, K, G, bq, 1]
  return gate_BTH.index({Slice(), Slice(b.t0, b.t1)})
      .permute({0, 2, 1})
      .reshape({d.B, d.K, d.G, b.rows(), 1});
}

class BlockedAttention : public torch::autograd::Function<BlockedAttention> {
 public:
  // gate is empty when there is no gate. Returns y_BHTD.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q_BHTD,
                               const torch::Tensor& k_BKTD, const torch::Tensor& v_BKTD,
                               const c10::optional<torch::Tensor>& gate, int64_t window,
                               int64_t block_size, double scale) {
    const torch::Tensor gate_BTH = gate.value_or(torch::Tensor());
    const AttentionParams p{window, block_size, scale};
    const Dims d = check_dims(q_BHTD, k_BKTD);
    const auto q5 = q_BHTD.contiguous().view({d.B, d.K, d.G, d.T, d.D});
    const auto k = k_BKTD.contiguous(), v = v_BKTD.contiguous();
    const bool gated = gate_BTH.defined();

    auto o5 = torch::empty({d.B, d.K, d.G, d.T, d.D}, q5.options());  // ungated output
    auto y5 = gated ? torch::empty_like(o5) : o5;                     // returned output
    auto lse5 = torch::empty({d.B, d.K, d.G, d.T}, q5.options());
    for_each_block(d, p, [&](const Block& b) {
      auto s = block_scores(query_rows(q5, d, b) * scale, k, d, b, p);
      const auto row_max = s.amax(-1, true);
      s.sub_(row_max).exp_();
      const auto row_sum = s.sum(-1, true);
      const auto v_rng = v.index({Slice(), Slice(), Slice(b.key_begin, b.t1)});
      const auto o = torch::matmul(s, v_rng).div_(row_sum).view({d.B, d.K, d.G, b.rows(), d.D});
      const auto rows = Slice(b.t0, b.t1);
      o5.index({Slice(), Slice(), Slice(), rows}).copy_(o);
      if (gated) {
        auto y = y5.index({Slice(), Slice(), Slice(), rows});
        torch::mul_out(y, o, gate_rows(gate_BTH, d, b));
      }
      lse5.index({Slice(), Slice(), Slice(), rows})
          .copy_(row_max.add_(row_sum.log_()).view({d.B, d.K, d.G, b.rows()}));
    });
    ctx->save_for_backward({q5, k, v, o5, lse5, gate_BTH});
    ctx->saved_data["window"] = window;
    ctx->saved_data["block_size"] = block_size;
    ctx->saved_data["scale"] = scale;
    return y5.view({d.B, d.H, d.T, d.D});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q5 = saved[0], &k = saved[1], &v = saved[2], &o5 = saved[3], &lse5 = saved[4];
    const auto& gate_BTH = saved[5];
    const AttentionParams p{ctx->saved_data["window"].toInt(),
                            ctx->saved_data["block_size"].toInt(),
                            ctx->saved_data["scale"].toDouble()};
    const Dims d{q5.size(0), q5.size(1) * q5.size(2), q5.size(1), q5.size(2), q5.size(3),
                 q5.size(4)};
    const bool gated = gate_BTH.defined();
    const auto dy5 = grads[0].contiguous().view({d.B, d.K, d.G, d.T, d.D});

    auto dq5 = torch::empty_like(q5);
    auto dk = torch::zeros_like(k), dv = torch::zeros_like(v);
    auto dgate_BTH = gated ? torch::empty_like(gate_BTH) : torch::Tensor();
    for_each_block(d, p, [&](const Block& b) {
      const auto rows = Slice(b.t0, b.t1);
      const auto dy = dy5.index({Slice(), Slice(), Slice(), rows});
      const auto o = o5.index({Slice(), Slice(), Slice(), rows});
      // Fused gate: y = o·g, so do = dy·g, dg = Σ_D dy·o and Σ_D do·o = g·dg.
      torch::Tensor d_o, delta;
      if (gated) {
        const auto g = gate_rows(gate_BTH, d, b);
        const auto dg = (dy * o).sum(-1, true);  // [B, K, G, bq, 1]
        dgate_BTH.index({Slice(), rows}).copy_(dg.view({d.B, d.H, b.rows()}).permute({0, 2, 1}));
        d_o = dy * g;
        delta = dg.mul_(g);
      } else {
        d_o = dy.contiguous();
        delta = (dy * o).sum(-1, true);
      }
      d_o = d_o.view({d.B, d.K, d.G * b.rows(), d.D});
      delta = delta.view({d.B, d.K, d.G * b.rows(), 1});

      const auto q_rows = query_rows(q5, d, b) * p.scale;
      auto p_blk = block_scores(q_rows, k, d, b, p);
      p_blk
          .sub_(
              lse5.index({Slice(), Slice(), Slice(), rows}).reshape({d.B, d.K, d.G * b.rows(), 1}))
          .exp_();
      const auto keys = Slice(b.key_begin, b.t1);
      const auto k_rng = k.index({Slice(), Slice(), keys});
      const auto v_rng = v.index({Slice(), Slice(), keys});
      dv.index({Slice(), Slice(), keys}).add_(torch::matmul(p_blk.transpose(-2, -1), d_o));
      auto ds = torch::matmul(d_o, v_rng.transpose(-2, -1)).sub_(delta).mul_(p_blk);
      dq5.index({Slice(), Slice(), Slice(), rows})
          .copy_(torch::matmul(ds, k_rng).mul_(p.scale).view({d.B, d.K, d.G, b.rows(), d.D}));
      dk.index({Slice(), Slice(), keys}).add_(torch::matmul(ds.transpose(-2, -1), q_rows));
    });
    return {dq5.view({d.B, d.H, d.T, d.D}),
            dk,
            dv,
            dgate_BTH,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }

 private:
  static Dims check_dims(const torch::Tensor& q, const torch::Tensor& k) {
    return {q.size(0), q.size(1), k.size(1), q.size(1) / k.size(1), q.size(2), q.size(3)};
  }
};

bool reduced_precision(const torch::Tensor& t) {
  return t.scalar_type() == torch::kHalf || t.scalar_type() == torch::kBFloat16;
}

}  // namespace

// Half and bfloat16 run in float32 (softmax statistics need the range) and are cast back.
torch::Tensor blocked_attention(const AttentionCall& call) {
  const auto& q = call.q_BHTD;
  const auto compute = [](const torch::Tensor& t) {
    return reduced_precision(t) ? t.to(torch::kFloat) : t;
  };
  const auto gate = call.gate_BTH.defined()
                        ? c10::optional<torch::Tensor>(compute(call.gate_BTH.to(q.scalar_type())))
                        : c10::nullopt;
  auto y = BlockedAttention::apply(compute(q), compute(call.k_BKTD), compute(call.v_BKTD), gate,
                                   call.window, call.block_size, call.scale);
  return y.to(q.scalar_type());
}

}  // namespace attnlab::kernels
