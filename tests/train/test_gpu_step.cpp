// On a GPU: the training run of train_fixture.h with train.device=cuda train.dtype=bf16
// follows the fp32 CPU run's losses, and records its device, attention backend and GPU memory.
// Without a CUDA device (a CPU build, or no GPU) the program exits 77, which CTest reports as
// skipped; any other failure fails.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "attnlab/device/device.h"
#include "train_fixture.h"

using namespace attnlab;
using namespace attnlab::test;

TEST_CASE("a bf16 run on CUDA follows the fp32 CPU run", "[gpu][train]") {
  for (const std::string variant : {"dense", "gated_window"}) {
    INFO(variant);
    const auto gpu =
        train_with("gpu_bf16_" + variant, variant, {"train.device=cuda", "train.dtype=bf16"});
    for (const std::string metric : {"train/loss", "val/loss"}) {
      // Not yet measured on a GPU. The CPU bf16 run stays within 1.2e-5 of fp32
      // (test_mixed_precision.cpp); here attention itself also runs in bf16 (flash / SDPA,
      // fp32 accumulation), where the CPU kernels compute it in fp32, and the GPU's matmuls
      // sum in another order: 1e-3 allows ten times the CPU bound for that.
      CHECK(max_relative_gap(reference(variant).recordings, gpu, metric) < 1e-3);
    }
    const auto& info = gpu.info;
    CHECK(nlohmann::json::parse(info.at("device")).get<std::string>().rfind("cuda:", 0) == 0);
    CHECK_FALSE(nlohmann::json::parse(info.at("device_name")).get<std::string>().empty());
    const double allocated = nlohmann::json::parse(info.at("peak_gpu_allocated_bytes")).get<double>();
    CHECK(allocated > 0);
    CHECK(nlohmann::json::parse(info.at("peak_gpu_reserved_bytes")).get<double>() >= allocated);
    CHECK(info.at("attention_backend").find("cpu") == std::string::npos);
  }
}

int main(int argc, char** argv) {
  const auto why = device::unavailable_reason(torch::Device(torch::kCUDA, 0));
  if (!why.empty()) {
    std::printf("skipped: no CUDA device here: %s\n", why.c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
