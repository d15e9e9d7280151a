// Chunked LM head + mean cross-entropy (llm.c / Liger style): the [N, V] logits and their
// gradient only ever exist one chunk of rows at a time, with fp32 softmax statistics.
#pragma once
#include <torch/types.h>

#include <cstdint>

namespace attnlab::model {

// The byte budget for one chunk's fp32 logits. The loss's working memory is a small multiple
// of it (the logits, logsumexp's exp, the gradient's cast to the compute dtype), so 256 MiB
// keeps the head's working memory around 1 GiB at most whatever B·T is, while each chunk's
// matmul stays large (1,334 rows × 50,304 for GPT-2's vocabulary, 447 rows for a 150k one):
// few chunks, so little per-chunk overhead, and rows enough to keep the matmuls efficient.
inline constexpr int64_t kChunkLogitsBytes = int64_t{256} << 20;

// Rows per chunk: kChunkLogitsBytes / (vocab_size · 4 bytes), at least 1.
int64_t default_chunk_rows(int64_t vocab_size);

// mean over n of cross_entropy(h_NC[n] · w_VCᵀ, targets_N[n]), differentiable in h_NC and w_VC.
// Forward keeps only h, w, targets and the per-row logsumexp; backward recomputes each chunk's
// logits. Compute dtype (the matmuls): the autocast dtype when autocast is on for h's device
// (unless h is fp64, which autocast leaves alone), else h's dtype. Softmax statistics, the loss
// and the summed dw are fp32 (fp64 when computing in fp64); the loss is a 0-dim tensor of that
// dtype and the gradients come back in h's and w's own dtypes.
// Throws std::invalid_argument for mismatched shapes or dtypes, an empty batch, a target
// outside [0, V) (naming it) or chunk_rows < 1.
torch::Tensor chunked_lm_loss(const torch::Tensor& h_NC, const torch::Tensor& w_VC,
                              const torch::Tensor& targets_N, int64_t chunk_rows);

}  // namespace attnlab::model
