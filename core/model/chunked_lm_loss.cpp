// Chunked LM head + cross-entropy as a custom autograd Function: forward and backward walk the
// rows in chunks, so no [N, V] tensor is ever allocated. R below is the rows of one chunk.
#include "attnlab/model/chunked_lm_loss.h"

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/util/StringUtil.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "attnlab/torch_compat.h"

namespace attnlab::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void check_shapes(const torch::Tensor& h_NC, const torch::Tensor& w_VC,
                  const torch::Tensor& targets_N, int64_t chunk_rows) {
  if (h_NC.dim() != 2 || h_NC.size(0) == 0) {
    throw std::invalid_argument(c10::str("chunked_lm_loss: h_NC must be [N, C] with N > 0, got ",
                                         h_NC.sizes()));
  }
  if (w_VC.dim() != 2 || w_VC.size(1) != h_NC.size(1)) {
    throw std::invalid_argument(c10::str("chunked_lm_loss: w_VC must be [V, C] with h's C = ",
                                         h_NC.size(1), ", got ", w_VC.sizes()));
  }
  if (targets_N.dim() != 1 || targets_N.size(0) != h_NC.size(0) ||
      targets_N.scalar_type() != torch::kInt64) {
    throw std::invalid_argument(c10::str("chunked_lm_loss: targets_N must be int64 [N] with N = ",
                                         h_NC.size(0), ", got ", targets_N.scalar_type(), " ",
                                         targets_N.sizes()));
  }
  if (chunk_rows < 1) {
    throw std::invalid_argument(c10::str("chunked_lm_loss: chunk_rows must be >= 1, got ",
                                         chunk_rows));
  }
}

void check_targets(const torch::Tensor& targets_N, int64_t vocab_size) {
  const auto bad_N = targets_N.lt(0).logical_or(targets_N.ge(vocab_size));
  if (!bad_N.any().item<bool>()) return;
  throw std::invalid_argument(c10::str("chunked_lm_loss: target ",
                                       targets_N.masked_select(bad_N)[0].item<int64_t>(),
                                       " is outside [0, ", vocab_size, ")"));
}

// What the unchunked path's matmul would run in: autocast casts floating inputs other than
// fp64 to its dtype; without autocast h and w must already agree.
c10::ScalarType compute_dtype(const torch::Tensor& h_NC, const torch::Tensor& w_VC) {
  const auto device = h_NC.device().type();
  if (compat::autocast_enabled(device) && h_NC.scalar_type() != torch::kFloat64) {
    return compat::autocast_dtype(device);
  }
  if (w_VC.scalar_type() != h_NC.scalar_type()) {
    throw std::invalid_argument(c10::str("chunked_lm_loss: w_VC is ", w_VC.scalar_type(),
                                         " but h_NC is ", h_NC.scalar_type(),
                                         " (outside autocast they must match)"));
  }
  return h_NC.scalar_type();
}

// Calls fn(start, rows) for consecutive chunks of at most chunk_rows of the N rows.
void for_each_chunk(int64_t N, int64_t chunk_rows, const std::function<void(int64_t, int64_t)>& fn) {
  for (int64_t start = 0; start < N; start += chunk_rows) fn(start, std::min(chunk_rows, N - start));
}

// One chunk's logits: the matmul in the compute dtype (wc_VC is already cast), the result in
// the accumulation dtype. Always a fresh tensor, so callers may modify it in place.
torch::Tensor chunk_logits(const torch::Tensor& h_RC, const torch::Tensor& wc_VC,
                           c10::ScalarType accumulate) {
  return h_RC.to(wc_VC.scalar_type()).mm(wc_VC.t()).to(accumulate);
}

struct ChunkedLmLoss : torch::autograd::Function<ChunkedLmLoss> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h_NC,
                               const torch::Tensor& w_VC, const torch::Tensor& targets_N,
                               int64_t chunk_rows) {
    const auto compute = compute_dtype(h_NC, w_VC);
    const auto accumulate = torch::promote_types(compute, torch::kFloat32);
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const auto wc_VC = w_VC.to(compute);
    const int64_t N = h_NC.size(0);
    auto lse_N = torch::empty({N}, h_NC.options().dtype(accumulate));
    auto loss_sum = torch::zeros({}, lse_N.options());
    for_each_chunk(N, chunk_rows, [&](int64_t start, int64_t rows) {
      const auto logits_RV = chunk_logits(h_NC.narrow(0, start, rows), wc_VC, accumulate);
      const auto lse_R = logits_RV.logsumexp(1);
      const auto target_logit_R =
          logits_RV.gather(1, targets_N.narrow(0, start, rows).unsqueeze(1)).squeeze(1);
      loss_sum += (lse_R - target_logit_R).sum();
      lse_N.narrow(0, start, rows).copy_(lse_R);
    });
    ctx->save_for_backward({h_NC, w_VC, targets_N, lse_N});
    ctx->saved_data["compute"] = compute;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    return loss_sum / N;
  }

  // Per chunk: grad_logits = (softmax − onehot) · grad_loss / N, recomputed from the saved
  // logsumexp; dh = grad_logits · w, dw += grad_logitsᵀ · h summed in the accumulation dtype.
  static variable_list backward(AutogradContext* ctx, variable_list grad_loss) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const auto saved = ctx->get_saved_variables();
    const auto &h_NC = saved[0], &w_VC = saved[1], &targets_N = saved[2], &lse_N = saved[3];
    const auto compute = ctx->saved_data["compute"].toScalarType();
    const auto accumulate = lse_N.scalar_type();
    const auto wc_VC = w_VC.to(compute);
    const int64_t N = h_NC.size(0);
    const auto scale = grad_loss[0].to(accumulate) / N;
    auto dh_NC = torch::empty_like(h_NC);
    auto dw_VC = torch::zeros(w_VC.sizes(), w_VC.options().dtype(accumulate));
    for_each_chunk(N, ctx->saved_data["chunk_rows"].toInt(), [&](int64_t start, int64_t rows) {
      const auto hc_RC = h_NC.narrow(0, start, rows).to(compute);
      auto grad_RV = chunk_logits(hc_RC, wc_VC, accumulate);
      grad_RV.sub_(lse_N.narrow(0, start, rows).unsqueeze(1)).exp_();
      grad_RV.scatter_add_(1, targets_N.narrow(0, start, rows).unsqueeze(1),
                           torch::full({rows, 1}, -1.0, grad_RV.options()));
      const auto gradc_RV = grad_RV.mul_(scale).to(compute);
      dh_NC.narrow(0, start, rows).copy_(gradc_RV.mm(wc_VC));
      dw_VC.add_(gradc_RV.t().mm(hc_RC));
    });
    return {dh_NC, dw_VC.to(w_VC.scalar_type()), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

int64_t default_chunk_rows(int64_t vocab_size) {
  if (vocab_size < 1) {
    throw std::invalid_argument(c10::str("default_chunk_rows: vocab_size must be >= 1, got ",
                                         vocab_size));
  }
  return std::max<int64_t>(1, kChunkLogitsBytes / (vocab_size * int64_t{4}));
}

torch::Tensor chunked_lm_loss(const torch::Tensor& h_NC, const torch::Tensor& w_VC,
                              const torch::Tensor& targets_N, int64_t chunk_rows) {
  check_shapes(h_NC, w_VC, targets_N, chunk_rows);
  check_targets(targets_N, w_VC.size(0));
  return ChunkedLmLoss::apply(h_NC, w_VC, targets_N, chunk_rows);
}

}  // namespace attnlab::model
