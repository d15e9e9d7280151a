// config.json of an exported model: the Hugging Face Qwen3 keys (Qwen3ForCausalLM, sizes, RoPE
// theta, RMSNorm epsilon, tied embeddings) that transformers builds the model from, plus an
// "attnlab" section with what rebuilds our model exactly:
//   "attnlab": {"format": 1, "model": <the run's model: section>,
//               "attention": {"variant": <plugin>, "options": <its options>}}
// Reading a config.json gives that attnlab tree ({"model", "attention"}, what
// spec::build_model takes): the attnlab section when present, else a `dense` model of the
// Qwen3 keys.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace attnlab::interop {

inline constexpr int kAttnlabSectionFormat = 1;

// `tree`: a run's config (its "model" and "attention" sections are read); torch_dtype is
// "float32" or "bfloat16", the dtype of the weights written beside it.
nlohmann::json to_hf_config(const nlohmann::json& tree, const std::string& torch_dtype);

// Throws std::invalid_argument naming `file` and the key when the config is not a Qwen3 model
// our decoder can express (another model_type, attention or MLP biases, a sliding window,
// rope_scaling, another activation) or a needed key is missing or of the wrong type.
nlohmann::json tree_from_hf_config(const nlohmann::json& config, const std::string& file);

}  // namespace attnlab::interop
