// `attnlab import`: a Hugging Face Qwen3 folder (config.json and model.safetensors, or the
// shards a model.safetensors.index.json lists) read into our decoder, and written as an attnlab
// checkpoint that train.init_from loads.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attnlab/model/decoder.h"

namespace attnlab::plugin {
class PluginRegistry;
}

namespace attnlab::interop {

struct ImportedModel {
  model::Decoder model{nullptr};  // on the CPU, fp32, eval mode
  nlohmann::json tree;            // {"model", "attention"}: what rebuilds it (hf_config.h)
  int64_t tensors = 0;            // tensors read
};

// Reads `dir`. Every tensor of the files must map (hf_names.h) to a parameter or buffer of
// the same shape, and every parameter must be there; a safetensors file whose checks fail is
// a SafetensorsError, anything else std::invalid_argument naming the file and the tensor.
// bf16/f16 weights are upcast exactly; a `rotary_emb.inv_freq` (computed, not learned) is
// skipped.
ImportedModel import_safetensors(const std::filesystem::path& dir, plugin::PluginRegistry& plugins);

// Writes the model's tensors to `out` as an attnlab checkpoint (train/checkpoint.h, step 0, an
// optimizer without state), atomically.
void write_imported_checkpoint(const ImportedModel& imported, const std::filesystem::path& out);

}  // namespace attnlab::interop
