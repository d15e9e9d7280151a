// Bucketed, overlapped gradient all-reduce for data-parallel training (what PyTorch's DDP
// Reducer does, for attnlab's trainer). Parameters are grouped, in reverse registration order
// (roughly the order backward produces their gradients), into buckets of at most
// `bucket_bytes`. A post-hook on each parameter's AccumulateGrad node counts the gradients
// that are ready; as soon as a bucket is complete (and every bucket before it has been
// launched, so all ranks issue collectives in the same order) its gradients are copied into a
// flat buffer and an asynchronous all-reduce starts, while backward keeps computing the rest.
// finish() waits for every bucket and writes the rank-mean back into each parameter's grad.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "attnlab/dist/communicator.h"

namespace torch::autograd {
struct Node;
}

namespace attnlab::dist {

inline constexpr int64_t kDefaultBucketBytes = 25 << 20;  // 25 MB, DDP's default

class GradientSync {
 public:
  // `reduce_dtype`: the dtype gradients travel in (kBFloat16 halves the bytes; the mean is
  // written back into the fp32 grads); undefined keeps each parameter's own dtype.
  GradientSync(Communicator& comm, std::vector<torch::Tensor> params_P,
               c10::optional<torch::Dtype> reduce_dtype = c10::nullopt,
               int64_t bucket_bytes = kDefaultBucketBytes);
  ~GradientSync();  // removes the hooks
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Call before each backward: `reduce` is true on the micro-batch that completes an optimizer
  // step (its hooks launch all-reduces), false on the accumulation micro-steps before it
  // (gradients only accumulate locally).
  void begin_backward(bool reduce);
  // After the reducing backward: launches the buckets still waiting (parameters that got no
  // gradient contribute zeros), waits for all, and sets every grad to the mean over ranks.
  void finish();
  size_t n_buckets() const { return buckets_.size(); }
  // Seconds the last finish() took: the communication backward did not hide, plus unpacking.
  double exposed_s() const { return exposed_s_; }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_P_
    std::vector<int64_t> offsets;
    torch::Tensor flat_N;
    size_t ready = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  void on_grad_ready(size_t param);
  void launch(Bucket& bucket);

  Communicator& comm_;
  std::vector<torch::Tensor> params_P_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // parameter index -> bucket index
  size_t next_launch_ = 0;
  bool reducing_ = false;
  double exposed_s_ = 0.0;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // keeps the hooks alive
  std::vector<uintptr_t> hook_keys_;
};

}  // namespace attnlab::dist
