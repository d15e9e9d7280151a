// Mixed precision for one forward pass: while an AutocastScope for train.dtype=bf16 lives,
// LibTorch autocast runs matmuls in bf16 on the run's device type (CPU or CUDA) while the
// parameters, their gradients and AdamW's state stay fp32 (the master weights). RMSNorm, the
// attention kernels' softmax statistics and the loss compute in fp32 on their own. Backward
// runs after the scope ends, as LibTorch recommends. fp32 makes the scope a no-op.
#pragma once
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace attnlab::train {

// "fp32" -> kFloat, "bf16" -> kBFloat16; anything else throws std::invalid_argument naming it.
c10::ScalarType parse_train_dtype(const std::string& dtype);

class AutocastScope {
 public:
  AutocastScope(const c10::Device& device, c10::ScalarType dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

}  // namespace attnlab::train
