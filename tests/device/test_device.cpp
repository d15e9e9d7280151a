// device.h: parse_device, local_gpu_index, place_on, bf16_dense_peak_flops, unavailable_reason
// and, on this build's CPU, StepTimer, host_staging_int32 and tokens_on.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <thread>

#include "attnlab/device/device.h"

using namespace attnlab;

namespace {

device::EnvLookup env(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const char* name) -> const char* {
    const auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  };
}

}  // namespace

TEST_CASE("train.device parses cpu, cuda and cuda:N and nothing else", "[device]") {
  CHECK(device::parse_device("cpu") == torch::Device(torch::kCPU));
  const auto bare = device::parse_device("cuda");
  CHECK(bare.is_cuda());
  CHECK_FALSE(bare.has_index());
  CHECK(device::parse_device("cuda:3") == torch::Device(torch::kCUDA, 3));
  for (const std::string bad : {"gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:1:2", "cpu:0",
                                " cpu", "cuda:99999999", ""}) {
    INFO(bad);
    try {
      device::parse_device(bad);
      FAIL("accepted '" << bad << "'");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("'" + bad + "'") != std::string::npos);
      CHECK(std::string(e.what()).find("cuda:N") != std::string::npos);
    }
  }
}

TEST_CASE("a bare cuda takes the launcher's GPU: ATTNLAB_DEVICE, LOCAL_RANK, SLURM_LOCALID", "[device]") {
  CHECK(device::local_gpu_index(env({})) == 0);
  CHECK(device::local_gpu_index(env({{"SLURM_LOCALID", "5"}})) == 5);
  CHECK(device::local_gpu_index(env({{"SLURM_LOCALID", "5"}, {"LOCAL_RANK", "2"}})) == 2);
  CHECK(device::local_gpu_index(
            env({{"SLURM_LOCALID", "5"}, {"LOCAL_RANK", "2"}, {"ATTNLAB_DEVICE", "7"}})) == 7);
  CHECK(device::local_gpu_index(env({{"LOCAL_RANK", ""}, {"SLURM_LOCALID", "1"}})) == 1);
  for (const std::string bad : {"-1", "one", "2x"}) {
    try {
      device::local_gpu_index(env({{"LOCAL_RANK", bad}}));
      FAIL("accepted LOCAL_RANK=" << bad);
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("LOCAL_RANK='" + bad + "'") != std::string::npos);
    }
  }
}

TEST_CASE("place_on keeps an explicit device", "[device]") {
  CHECK(device::place_on("cpu").is_cpu());
  CHECK(device::place_on("cuda:4") == torch::Device(torch::kCUDA, 4));
  CHECK(device::place_on("cuda").has_index());
}

TEST_CASE("the bf16 peak table knows the datasheet GPUs and nothing else", "[device]") {
  CHECK(device::bf16_dense_peak_flops("NVIDIA H100 80GB HBM3") == Approx(989.4e12));
  CHECK(device::bf16_dense_peak_flops("NVIDIA H200") == Approx(989.4e12));
  CHECK(device::bf16_dense_peak_flops("NVIDIA H100 PCIe") == Approx(756.0e12));
  CHECK(device::bf16_dense_peak_flops("NVIDIA A100-SXM4-80GB") == Approx(312.0e12));
  CHECK_FALSE(device::bf16_dense_peak_flops("NVIDIA GeForce RTX 4090").has_value());
  CHECK_FALSE(device::bf16_dense_peak_flops("cpu").has_value());
}

TEST_CASE("what this build says about each device", "[device]") {
  CHECK(device::unavailable_reason(torch::Device(torch::kCPU)).empty());
  CHECK(device::device_name(torch::Device(torch::kCPU)) == "cpu");
  if (device::cuda_build()) return;  // the rest describes a CPU-only build
  CHECK(device::cuda_device_count() == 0);
  for (const auto& gpu : {torch::Device(torch::kCUDA), torch::Device(torch::kCUDA, 1)}) {
    const auto why = device::unavailable_reason(gpu);
    CHECK(why.find("needs a CUDA build") != std::string::npos);
    CHECK(why.find("train.device=cpu") != std::string::npos);
  }
  CHECK_THROWS_WITH(device::peak_memory(torch::Device(torch::kCUDA, 0)),
                    Catch::Contains("no CUDA"));
  CHECK_THROWS_WITH(device::StepTimer(torch::Device(torch::kCUDA, 0)), Catch::Contains("no CUDA"));
  CHECK_NOTHROW(device::make_current(torch::Device(torch::kCPU)));
}

TEST_CASE("the CPU step timer measures wall time; staging buffers are plain int32", "[device]") {
  device::StepTimer timer(torch::Device(torch::kCPU));
  timer.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  // A lower bound only: a loaded machine can make the sleep longer, never shorter.
  CHECK(timer.stop_seconds() >= 0.03);
  const auto buffer = device::host_staging_int32(17, torch::Device(torch::kCPU));
  CHECK(buffer.numel() == 17);
  CHECK(buffer.scalar_type() == torch::kInt32);
  CHECK(buffer.is_cpu());
  buffer.copy_(torch::randint(0, 50257, {17}, torch::kInt32));
  const auto ids = device::tokens_on(buffer, torch::Device(torch::kCPU));
  CHECK(ids.scalar_type() == torch::kInt64);
  CHECK(torch::equal(ids, buffer.to(torch::kInt64)));
}
