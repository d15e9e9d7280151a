// `attnlab export --format safetensors`: a decoder written as a Hugging Face Qwen3 folder,
// model.safetensors (hf_names.h names) and config.json (hf_config.h), that transformers loads
// as Qwen3ForCausalLM when the variant is `dense` (docs/INTEROP.md).
#pragma once
#include <torch/nn/module.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "attnlab/interop/safetensors.h"

namespace attnlab::interop {

// Every parameter and buffer of `model` under its Hugging Face name, floating ones converted
// to `float_dtype` (others as they are), in the model's order.
NamedTensors hf_tensors(const torch::nn::Module& model, torch::ScalarType float_dtype);

struct ExportSummary {
  std::filesystem::path weights, config;
  int64_t tensors = 0;
  uint64_t bytes = 0;  // of model.safetensors
};

// Writes dir/model.safetensors and dir/config.json of `model`, which `tree` (a run's config:
// its model and attention sections) describes; dir is created. dtype: "fp32" or "bf16"
// (rounded to nearest even); anything else is std::invalid_argument.
ExportSummary export_safetensors(const torch::nn::Module& model, const nlohmann::json& tree,
                                 const std::filesystem::path& dir, const std::string& dtype);

}  // namespace attnlab::interop
