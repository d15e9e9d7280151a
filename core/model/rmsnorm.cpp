// RMSNorm: x / sqrt(mean(x^2) + eps) * weight, computed in at least fp32 (bf16/fp16 inputs are
// upcast; fp64 stays fp64).
#include "attnlab/model/rmsnorm.h"

#include <torch/torch.h>

namespace attnlab::model {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  const auto compute = torch::promote_types(x.scalar_type(), torch::kFloat32);
  auto xc = x.to(compute);
  auto normed = xc * torch::rsqrt(xc.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return normed.to(x.scalar_type()) * weight.to(x.scalar_type());
}

}  // namespace attnlab::model
