// Tensors to and from a safetensors file (safetensors_header.h has the layout and its checks):
// written in the order given, read back in file order. Little-endian hosts only, as the data
// is copied as is.
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "attnlab/interop/safetensors_header.h"

namespace attnlab::interop {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsFile {
  NamedTensors tensors;  // on the CPU, in the file's dtypes, in data order
  std::map<std::string, std::string> metadata;
};

// The safetensors dtype name of a LibTorch dtype (F64, F32, F16, BF16, I64, I32, I16, I8, U8,
// BOOL) and back; std::invalid_argument for others.
std::string safetensors_dtype(torch::ScalarType dtype);
torch::ScalarType torch_dtype(const std::string& safetensors_dtype);

// Writes `tensors` (any device; copied to contiguous CPU memory) atomically: to `path`.tmp,
// then renamed. Throws std::runtime_error when the file cannot be written.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Reads a whole file after read_safetensors_header() has checked it (SafetensorsError).
SafetensorsFile read_safetensors(const std::filesystem::path& path);

}  // namespace attnlab::interop
