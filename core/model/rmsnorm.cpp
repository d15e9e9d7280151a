// RMSNorm: x / sqrt(mean(x^2) + eps) * weight, computed in fp32 for low-precision inputs.
#include "attnlab/model/rmsnorm.h"

#include <torch/torch.h>

namespace attnlab::model {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto x32 = x.to(torch::kFloat32);
  auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return normed.to(x.scalar_type()) * weight.to(x.scalar_type());
}

}  // namespace attnlab::model
