// libFuzzer target: the checkpoint header reader (core/train/checkpoint.cpp, LibTorch). The
// input is written as the only checkpoint file of a folder and CheckpointManager::load_latest
// reads it into a tiny model. The header ("ATTNCKPT", format version, payload size, SHA-256)
// is checked before LibTorch sees a byte, and a fuzzer cannot forge the SHA-256, so this covers
// the header checks only, not LibTorch's archive reader.
// Properties: a damaged file is skipped (nullopt), another format is a CheckpointError;
// nothing else is thrown and nothing crashes.
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include <cstddef>
#include <cstdint>

#include "attnlab/train/checkpoint.h"
#include "fuzz_util.h"

using namespace attnlab;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static torch::nn::Linear model(2, 2);
  static torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  fuzz::write_scratch("ckpt/step_0000000001.ckpt", data, size);
  train::CheckpointManager manager(fuzz::scratch_dir() / "ckpt", 1);
  try {
    fuzz::require(!manager.load_latest(*model, optimizer, "fingerprint"),
                  "a file the fuzzer wrote never verifies");
  } catch (const train::CheckpointError&) {
    return 0;  // another format version: the documented error
  }
  return 0;
}
