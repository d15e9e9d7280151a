// sigmaReparam (Zhai et al. 2023, "Stabilizing Transformer Training by Preventing Attention
// Entropy Collapse", arXiv 2303.06296): a linear layer computes with Ŵ = (γ / σ(W)) · W, σ(W)
// the spectral norm of W estimated by power iteration and γ one learnable scalar.
//
// The plain torch::nn::Linear keeps its parameter (`q_proj.weight`); the reparam state of the
// linear `<name>` lives in a sibling module `<name>_sigma` that exists only under
// model.sigma_reparam, so names and checkpoints of plain models do not change:
//   <name>_sigma.gamma  parameter, 0-dim (AdamW: no weight decay)
//   <name>_sigma.u      buffer [out], unit left singular vector estimate
//   <name>_sigma.v      buffer [in],  unit right singular vector estimate
// Training mode: each forward first takes one power-iteration step under no_grad
// (u <- normalize(W v), v <- normalize(Wᵀ u)); σ = uᵀ W v carries the gradient to W.
// Eval mode: no step, the stored u, v give σ. The estimate and Ŵ are computed in the weight's
// dtype with autocast off (as the paper's FP32SpectralNormedWeight); the matmul with x autocasts.
// Cost: ~4·out·in FLOPs per linear per forward, independent of the tokens; not counted in
// FLOPs per token.
//
// Init (our choice): reset() runs power iteration from a fixed start vector (a private
// fixed-seed generator; the global RNG is not touched) until one step changes σ by at most
// 8 machine epsilons of the weight's dtype (relative; ~1e-6 in fp32) or for
// kResetMaxIterations steps, and sets γ to that σ. So a freshly initialised model is the plain
// model's function: exactly in eval mode, and closely in training mode, whose first step moves
// σ a little further (on random 768x768..768x2048 fp32 weights 100 steps leave σ 1e-4..1e-3
// below the exact spectral norm and the next step moves it by ~3e-6..3e-5, relative). The
// paper's vision code starts from an exact SVD (γ = s₀, u = vh₀); its speech code starts γ at 1.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <optional>
#include <string>

namespace attnlab::model {

class SigmaReparamImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kResetMaxIterations = 100;

  SigmaReparamImpl(int64_t out_features, int64_t in_features);
  // u, v by power iteration on weight_OI from the fixed start, until a step changes σ by at
  // most `tolerance` (relative; default 8 epsilons of the weight's dtype) or after
  // `max_iterations` steps; then γ = σ.
  void reset(const torch::Tensor& weight_OI, int64_t max_iterations = kResetMaxIterations,
             std::optional<double> tolerance = std::nullopt);
  // One power-iteration step on weight_OI, updating u and v (no gradient).
  void power_step(const torch::Tensor& weight_OI);
  // σ = uᵀ W v with the stored u, v; differentiable in weight_OI.
  torch::Tensor sigma(const torch::Tensor& weight_OI) const;
  // Ŵ = (γ / σ) · W, after one power-iteration step in training mode.
  torch::Tensor effective_weight(const torch::Tensor& weight_OI);

  torch::Tensor gamma, u_O, v_I;
};
TORCH_MODULE(SigmaReparam);

// Registers the bias-free linear `name` (in -> out) on owner and, when enabled, its
// `<name>_sigma` into `sigma` (left empty otherwise).
torch::nn::Linear register_block_linear(torch::nn::Module& owner, const std::string& name,
                                        int64_t in_features, int64_t out_features, bool enabled,
                                        SigmaReparam& sigma);
// The one path of every decoder-block linear: linear(x) when sigma is empty, else x Ŵᵀ.
torch::Tensor sigma_linear(torch::nn::Linear& linear, SigmaReparam& sigma, const torch::Tensor& x);
// Resets every `<name>_sigma` under root from its sibling linear `<name>` (after weights are
// drawn: Decoder::reset_parameters).
void reset_sigma_reparams(torch::nn::Module& root);

}  // namespace attnlab::model
