// Rotary position embedding in the Qwen/LLaMA "rotate half" layout: the first and second
// halves of each head's dimensions form the rotated pairs.
#pragma once
#include <torch/types.h>

namespace attnlab::model {

class RotaryEmbedding {
 public:
  RotaryEmbedding(int64_t head_dim, double theta);
  // x_BHTD rotated by positions offset .. offset+T-1.
  torch::Tensor apply(const torch::Tensor& x_BHTD, int64_t position_offset = 0);

 private:
  void ensure_cache(int64_t length, const torch::Device& device);
  int64_t head_dim_;
  double theta_;
  torch::Tensor cos_TD_, sin_TD_;  // fp32 cache, grown on demand
};

}  // namespace attnlab::model
