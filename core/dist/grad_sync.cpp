// GradientSync: the bucketed, overlapped gradient all-reduce (see distributed_grad_sync.h).
#include "attnlab/dist/grad_sync.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <chrono>

namespace attnlab::dist {

GradientSync::GradientSync(Communicator& comm, std::vector<torch::Tensor> params_P,
                           c10::optional<torch::Dtype> reduce_dtype, int64_t bucket_bytes)
    : comm_(comm), params_P_(std::move(params_P)), bucket_of_(params_P_.size()) {
  int64_t bytes = 0;
  for (size_t k = params_P_.size(); k-- > 0;) {
    const auto& p = params_P_[k];
    const int64_t p_bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool same_kind = !buckets_.empty() &&
                           params_P_[buckets_.back().params.front()].dtype() == p.dtype() &&
                           params_P_[buckets_.back().params.front()].device() == p.device();
    if (!same_kind || bytes + p_bytes > bucket_bytes) {
      buckets_.emplace_back();
      bytes = 0;
    }
    auto& bucket = buckets_.back();
    bucket.offsets.push_back(bytes / static_cast<int64_t>(p.element_size()));
    bucket.params.push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    bytes += p_bytes;
  }
  for (auto& bucket : buckets_) {
    const auto& last = params_P_[bucket.params.back()];
    bucket.flat_N = torch::zeros({bucket.offsets.back() + last.numel()},
                                 last.options().dtype(reduce_dtype.value_or(last.scalar_type())));
  }
  for (size_t k = 0; k < params_P_.size(); ++k) {
    auto accumulator = torch::autograd::impl::grad_accumulator(params_P_[k]);
    hook_keys_.push_back(accumulator->add_post_hook(
        std::make_unique<compat::PostHook>([this, k] { on_grad_ready(k); })));
    accumulators_.push_back(std::move(accumulator));
  }
}

GradientSync::~GradientSync() {
  for (size_t k = 0; k < accumulators_.size(); ++k) accumulators_[k]->del_post_hook(hook_keys_[k]);
}

void GradientSync::begin_backward(bool reduce) {
  reducing_ = reduce;
  next_launch_ = 0;
  for (auto& bucket : buckets_) {
    bucket.ready = 0;
    bucket.work.reset();
  }
}

void GradientSync::on_grad_ready(size_t param) {
  if (!reducing_) return;
  ++buckets_[bucket_of_[param]].ready;
  while (next_launch_ < buckets_.size() &&
         buckets_[next_launch_].ready == buckets_[next_launch_].params.size()) {
    launch(buckets_[next_launch_++]);
  }
}

void GradientSync::launch(Bucket& bucket) {
  torch::NoGradGuard no_grad;
  for (size_t j = 0; j < bucket.params.size(); ++j) {
    const auto& p = params_P_[bucket.params[j]];
    auto slice_N = bucket.flat_N.narrow(0, bucket.offsets[j], p.numel());
    if (p.grad().defined()) {
      slice_N.copy_(p.grad().reshape(-1));
    } else {
      slice_N.zero_();
    }
  }
  std::vector<torch::Tensor> one{bucket.flat_N};
  bucket.work = comm_.backend().allreduce(one);
}

void GradientSync::finish() {
  if (!reducing_) return;
  const auto t0 = std::chrono::steady_clock::now();
  while (next_launch_ < buckets_.size()) launch(buckets_[next_launch_++]);
  torch::NoGradGuard no_grad;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    auto& bucket = buckets_[b];
    comm_.wait(bucket.work, "the gradient all-reduce (bucket " + std::to_string(b + 1) + " of " +
                                std::to_string(buckets_.size()) + ")");
    bucket.flat_N.div_(comm_.world_size());
    for (size_t j = 0; j < bucket.params.size(); ++j) {
      auto& p = params_P_[bucket.params[j]];
      auto slice_N = bucket.flat_N.narrow(0, bucket.offsets[j], p.numel());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(slice_N.view(p.sizes()));
      } else {
        p.mutable_grad() = slice_N.view(p.sizes()).to(p.scalar_type(), false, /*copy=*/true);
      }
    }
  }
  reducing_ = false;
  exposed_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace attnlab::dist
