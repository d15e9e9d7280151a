// AutocastScope (autocast_scope.h): LibTorch autocast on for one forward pass, restored after.
#include "attnlab/train/autocast_scope.h"

#include <stdexcept>

#include "attnlab/torch_compat.h"

namespace attnlab::train {

c10::ScalarType parse_train_dtype(const std::string& dtype) {
  if (dtype == "fp32") return c10::ScalarType::Float;
  if (dtype == "bf16") return c10::ScalarType::BFloat16;
  throw std::invalid_argument("train.dtype '" + dtype + "' is not fp32 or bf16");
}

AutocastScope::AutocastScope(const c10::Device& device, c10::ScalarType dtype)
    : device_type_(device.type()) {
  if (dtype == c10::ScalarType::Float) return;
  active_ = true;
  was_enabled_ = compat::autocast_enabled(device_type_);
  was_dtype_ = compat::autocast_dtype(device_type_);
  compat::set_autocast(device_type_, true, dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The outermost scope drops the casted copies of the weights autocast cached for this pass.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  compat::set_autocast(device_type_, was_enabled_, was_dtype_);
}

}  // namespace attnlab::train
