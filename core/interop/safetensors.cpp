// Tensors to and from safetensors files; see safetensors.h.
#include "attnlab/interop/safetensors.h"

#include <torch/torch.h>

#include <fstream>
#include <stdexcept>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian and copied as is");

namespace attnlab::interop {

namespace {

const std::vector<std::pair<torch::ScalarType, std::string>>& dtype_names() {
  static const std::vector<std::pair<torch::ScalarType, std::string>> names = {
      {torch::kFloat64, "F64"},   {torch::kFloat32, "F32"}, {torch::kFloat16, "F16"},
      {torch::kBFloat16, "BF16"}, {torch::kInt64, "I64"},   {torch::kInt32, "I32"},
      {torch::kInt16, "I16"},     {torch::kInt8, "I8"},     {torch::kUInt8, "U8"},
      {torch::kBool, "BOOL"}};
  return names;
}

}  // namespace

std::string safetensors_dtype(torch::ScalarType dtype) {
  for (const auto& [t, name] : dtype_names()) {
    if (t == dtype) return name;
  }
  throw std::invalid_argument(std::string("safetensors has no dtype for ") + c10::toString(dtype));
}

torch::ScalarType torch_dtype(const std::string& safetensors_dtype) {
  for (const auto& [t, name] : dtype_names()) {
    if (name == safetensors_dtype) return t;
  }
  throw std::invalid_argument("unknown safetensors dtype " + safetensors_dtype);
}

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorEntry> entries;
  std::vector<torch::Tensor> data;
  uint64_t at = 0;
  for (const auto& [name, tensor] : tensors) {
    data.push_back(tensor.detach().to(torch::kCPU).contiguous());
    const uint64_t bytes = uint64_t(data.back().numel()) * data.back().element_size();
    entries.push_back(
        {name, safetensors_dtype(tensor.scalar_type()), tensor.sizes().vec(), at, at + bytes});
    at += bytes;
  }
  const auto tmp = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << write_safetensors_header(entries, metadata);
    for (const auto& t : data) {
      out.write(static_cast<const char*>(t.data_ptr()),
                std::streamsize(t.numel() * t.element_size()));
    }
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SafetensorsError(path.string() + ": cannot open it");
  const auto header = read_safetensors_header(path.string(), in, std::filesystem::file_size(path));
  SafetensorsFile out{{}, header.metadata};
  for (const auto& e : header.tensors) {  // ordered by begin: the data is read in sequence
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(torch_dtype(e.dtype)));
    if (!in.read(static_cast<char*>(t.data_ptr()), std::streamsize(e.end - e.begin))) {
      throw SafetensorsError(path.string() + ": tensor '" + e.name + "': cannot read its data");
    }
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace attnlab::interop
