// Communicator: rendezvous and the small collectives of a data-parallel run (see distributed.h).
#include "attnlab/dist/communicator.h"

#include <torch/torch.h>

#include <cstdlib>
#include <cstdio>

namespace attnlab::dist {

namespace {

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// The Gloo transport device: loopback for a single-node job; otherwise the interface named by
// GLOO_SOCKET_IFNAME (as in PyTorch), else the address this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (is_loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

std::string error_text(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

}  // namespace

Communicator::Communicator(const DistEnv& env, std::chrono::milliseconds timeout,
                           const std::string& backend)
    : rank_(env.rank), world_size_(env.world_size), timeout_(timeout) {
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  const std::string seconds = std::to_string(timeout.count() / 1000);
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(env.master_port);
  store_options.isServer = env.rank == 0 && !env.agent_store;  // torchrun's agent serves it
  store_options.numWorkers = static_cast<size_t>(env.world_size);
  store_options.waitWorkers = true;
  store_options.timeout = timeout;
  try {
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    store_ = c10::make_intrusive<c10d::PrefixStore>(
        "attnlab/attempt_" + std::to_string(env.restart_count), tcp);
    if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      backend_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, rank_, world_size_, options);
#else
      throw std::runtime_error("this LibTorch has no NCCL; use train.device=cpu (Gloo)");
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(gloo_device(env.master_addr));
      backend_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rank_, world_size_, options);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("rank " + std::to_string(rank_) + " of " +
                             std::to_string(world_size_) + ": rendezvous at " + where +
                             " failed within " + seconds + " s: " + error_text(e) +
                             " (are all ranks started, is MASTER_ADDR reachable, is the port free?)");
  }
}

void Communicator::wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw std::runtime_error("rank " + std::to_string(rank_) + ": " + what +
                             " failed; another rank died or stalled past train.dist_timeout_s=" +
                             std::to_string(timeout_.count() / 1000) + ": " + error_text(e));
  }
}

void Communicator::broadcast_module(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (auto& p : module.parameters()) tensors.push_back(p);
  for (auto& b : module.buffers()) tensors.push_back(b);
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one{t.data()};
    wait(backend_->broadcast(one), "broadcasting the parameters from rank 0");
  }
}

std::vector<double> Communicator::allreduce(const std::vector<double>& values, c10d::ReduceOp op) {
  auto device = backend_->getBackendName() == "nccl" ? torch::kCUDA : torch::kCPU;
  auto t_N = torch::tensor(values, torch::kFloat64).to(device);
  std::vector<torch::Tensor> one{t_N};
  c10d::AllreduceOptions options;
  options.reduceOp = op;
  wait(backend_->allreduce(one, options), "an all-reduce of metrics");
  t_N = t_N.cpu();
  return std::vector<double>(t_N.data_ptr<double>(), t_N.data_ptr<double>() + t_N.numel());
}

std::vector<double> Communicator::allreduce_sum(const std::vector<double>& values) {
  return allreduce(values, c10d::ReduceOp::SUM);
}

std::vector<double> Communicator::allreduce_max(const std::vector<double>& values) {
  return allreduce(values, c10d::ReduceOp::MAX);
}

int64_t Communicator::broadcast_int(int64_t value) {
  auto device = backend_->getBackendName() == "nccl" ? torch::kCUDA : torch::kCPU;
  std::vector<torch::Tensor> one{torch::tensor({value}, torch::kInt64).to(device)};
  wait(backend_->broadcast(one), "a broadcast from rank 0");
  return one[0].cpu().item<int64_t>();
}

void Communicator::barrier() { wait(backend_->barrier(), "a barrier"); }

}  // namespace attnlab::dist
