// A decoder written as a Hugging Face Qwen3 folder; see export_model.h.
#include "attnlab/interop/export_model.h"

#include <torch/torch.h>

#include <fstream>

#include "attnlab/interop/hf_config.h"
#include "attnlab/interop/hf_names.h"

namespace attnlab::interop {

NamedTensors hf_tensors(const torch::nn::Module& model, torch::ScalarType float_dtype) {
  NamedTensors out;
  const auto add = [&](const std::string& name, const torch::Tensor& t) {
    out.emplace_back(to_hf_name(name),
                     t.is_floating_point() ? t.detach().to(float_dtype) : t.detach());
  };
  for (const auto& p : model.named_parameters()) add(p.key(), p.value());
  for (const auto& b : model.named_buffers()) add(b.key(), b.value());
  return out;
}

ExportSummary export_safetensors(const torch::nn::Module& model, const nlohmann::json& tree,
                                 const std::filesystem::path& dir, const std::string& dtype) {
  if (dtype != "fp32" && dtype != "bf16") {
    throw std::invalid_argument("export dtype must be fp32 or bf16, not '" + dtype + "'");
  }
  const bool bf16 = dtype == "bf16";
  std::filesystem::create_directories(dir);
  ExportSummary s{dir / "model.safetensors", dir / "config.json"};
  const auto tensors = hf_tensors(model, bf16 ? torch::kBFloat16 : torch::kFloat32);
  write_safetensors(s.weights, tensors, {{"format", "pt"}});
  std::ofstream(s.config) << to_hf_config(tree, bf16 ? "bfloat16" : "float32").dump(2) << "\n";
  s.tensors = int64_t(tensors.size());
  s.bytes = std::filesystem::file_size(s.weights);
  return s;
}

}  // namespace attnlab::interop
