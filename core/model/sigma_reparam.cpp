// sigmaReparam: power-iteration spectral norm, Ŵ = (γ / σ) · W, and the decoder's linear path.
#include "attnlab/model/sigma_reparam.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace attnlab::model {

namespace {

const std::string kSuffix = "_sigma";
constexpr uint64_t kStartSeed = 0x5167'4d41;  // the fixed start vector's private generator

// A fixed unit vector of length n (fp32, CPU), the same for every layer and run.
torch::Tensor fixed_start(int64_t n) {
  auto generator = at::detail::createCPUGenerator(kStartSeed + static_cast<uint64_t>(n));
  const auto x = torch::randn({n}, generator, torch::kFloat64);
  return (x / x.norm()).to(torch::kFloat32);
}

torch::Tensor normalized(const torch::Tensor& x) { return x / x.norm().clamp_min(1e-12); }

}  // namespace

SigmaReparamImpl::SigmaReparamImpl(int64_t out_features, int64_t in_features)
    : gamma(register_parameter("gamma", torch::ones({}))),
      u_O(register_buffer("u", fixed_start(out_features))),
      v_I(register_buffer("v", fixed_start(in_features))) {}

void SigmaReparamImpl::reset(const torch::Tensor& weight_OI, int64_t max_iterations,
                             std::optional<double> tolerance) {
  torch::NoGradGuard no_grad;
  const double tol = tolerance.value_or(8.0 * (weight_OI.scalar_type() == torch::kFloat64
                                                   ? std::numeric_limits<double>::epsilon()
                                                   : std::numeric_limits<float>::epsilon()));
  u_O.copy_(fixed_start(u_O.size(0)));
  v_I.copy_(fixed_start(v_I.size(0)));
  double previous = sigma(weight_OI).item<double>();
  for (int64_t i = 0; i < max_iterations; ++i) {
    power_step(weight_OI);
    const double current = sigma(weight_OI).item<double>();
    const bool converged = std::abs(current - previous) <= tol * std::abs(current);
    previous = current;
    if (converged) break;
  }
  gamma.copy_(sigma(weight_OI));
}

void SigmaReparamImpl::power_step(const torch::Tensor& weight_OI) {
  torch::NoGradGuard no_grad;
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const auto w_OI = weight_OI.detach();
  u_O.copy_(normalized(torch::mv(w_OI, v_I)));
  v_I.copy_(normalized(torch::mv(w_OI.t(), u_O)));
}

torch::Tensor SigmaReparamImpl::sigma(const torch::Tensor& weight_OI) const {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  // Copies: the next training step updates u and v in place while this graph may still be
  // waiting for its backward.
  return torch::dot(u_O.clone(), torch::mv(weight_OI, v_I.clone()));
}

torch::Tensor SigmaReparamImpl::effective_weight(const torch::Tensor& weight_OI) {
  if (is_training()) power_step(weight_OI);
  return weight_OI * (gamma / sigma(weight_OI));
}

torch::nn::Linear register_block_linear(torch::nn::Module& owner, const std::string& name,
                                        int64_t in_features, int64_t out_features, bool enabled,
                                        SigmaReparam& sigma) {
  auto linear = owner.register_module(
      name, torch::nn::Linear(torch::nn::LinearOptions(in_features, out_features).bias(false)));
  if (enabled) {
    sigma = owner.register_module(name + kSuffix, SigmaReparam(out_features, in_features));
  }
  return linear;
}

torch::Tensor sigma_linear(torch::nn::Linear& linear, SigmaReparam& sigma, const torch::Tensor& x) {
  if (!sigma) return linear(x);
  return torch::linear(x, sigma->effective_weight(linear->weight));
}

void reset_sigma_reparams(torch::nn::Module& root) {
  // not include_self: the decoder calls this from its constructor, before a shared_ptr owns it
  const auto modules = root.named_modules("", /*include_self=*/false);
  for (const auto& item : modules) {
    auto* sigma = item.value()->as<SigmaReparamImpl>();
    if (sigma == nullptr) continue;
    const auto& name = item.key();
    const auto& sibling = modules[name.substr(0, name.size() - kSuffix.size())];
    auto* linear = sibling->as<torch::nn::LinearImpl>();
    TORCH_CHECK(linear != nullptr, "sigmaReparam: ", name, " has no sibling linear layer");
    sigma->reset(linear->weight);
  }
}

}  // namespace attnlab::model
