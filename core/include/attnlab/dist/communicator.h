// The process group of a data-parallel run: rendezvous on a c10d TCPStore, then Gloo
// (CPU tensors) or NCCL (CUDA tensors, when LibTorch has it) collectives. The trainer uses it
// to broadcast parameters, average scalars and agree on stopping; GradientSync
// (distributed_grad_sync.h) uses it to all-reduce gradients. Only rank 0 writes the store and
// checkpoints.
#pragma once
#include <torch/nn/module.h>
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <vector>

#include "attnlab/torch_compat.h"
#include "attnlab/dist/env.h"

namespace attnlab::dist {

class Communicator {
 public:
  // Rendezvous of env.world_size processes at env.master_addr:env.master_port (rank 0 serves
  // the TCPStore, unless env.agent_store: then torchrun's agent does and all ranks are
  // clients). Every collective, and the rendezvous itself, fails after `timeout` with an
  // error naming the rank and train.dist_timeout_s. `backend` is "gloo" or "nccl".
  Communicator(const DistEnv& env, std::chrono::milliseconds timeout, const std::string& backend);

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  compat::CollectiveBackend& backend() { return *backend_; }

  // Copies rank 0's parameters and buffers into every rank's module.
  void broadcast_module(torch::nn::Module& module);
  // Element-wise sum over ranks of a small float64 vector, returned on every rank.
  std::vector<double> allreduce_sum(const std::vector<double>& values);
  // Element-wise max over ranks of a small float64 vector.
  std::vector<double> allreduce_max(const std::vector<double>& values);
  // Rank 0's value on every rank.
  int64_t broadcast_int(int64_t value);
  void barrier();

  // Waits for `work`, turning a timeout or a lost peer into one clear error naming `what`.
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what);

 private:
  std::vector<double> allreduce(const std::vector<double>& values, c10d::ReduceOp op);

  int rank_ = 0, world_size_ = 1;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<compat::CollectiveBackend> backend_;
};


}  // namespace attnlab::dist
