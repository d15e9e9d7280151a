// config.json <-> the attnlab model tree; see hf_config.h.
#include "attnlab/interop/hf_config.h"

#include <stdexcept>

namespace attnlab::interop {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& file, const std::string& key, const std::string& what) {
  throw std::invalid_argument(file + ": \"" + key + "\" " + what);
}

// config[key] as T; `fallback` (when not null) where it is absent, as transformers defaults it.
template <typename T>
T get(const json& config, const std::string& file, const std::string& key,
      const json& fallback = nullptr) {
  if (!config.contains(key) || config[key].is_null()) {
    if (fallback.is_null()) fail(file, key, "is missing");
    return fallback.get<T>();
  }
  try {
    return config[key].get<T>();
  } catch (const json::exception&) {
    fail(file, key, "has the wrong type: " + config[key].dump());
  }
}

// Qwen3 features our decoder does not have: refused with what is set.
void check_expressible(const json& c, const std::string& file) {
  if (get<std::string>(c, file, "model_type") != "qwen3") {
    fail(file, "model_type", "is " + c["model_type"].dump() + "; only \"qwen3\" can be imported");
  }
  for (const char* key : {"attention_bias", "mlp_bias", "use_sliding_window"}) {
    if (c.value(key, json(false)) != json(false)) {
      fail(file, key, "is " + c[key].dump() + "; our decoder has no such feature (false needed)");
    }
  }
  if (c.contains("rope_scaling") && !c["rope_scaling"].is_null()) {
    fail(file, "rope_scaling", "is set; our decoder has plain RoPE only (null needed)");
  }
  if (get<std::string>(c, file, "hidden_act", "silu") != "silu") {
    fail(file, "hidden_act", "is " + c["hidden_act"].dump() + "; our SwiGLU needs \"silu\"");
  }
  for (const auto& type : c.value("layer_types", json::array())) {
    if (type != "full_attention")
      fail(file, "layer_types", "holds " + type.dump() + "; only full_attention can be imported");
  }
}

}  // namespace

json to_hf_config(const json& tree, const std::string& torch_dtype) {
  const auto& m = tree.at("model");
  const auto& a = tree.at("attention");
  return {{"architectures", {"Qwen3ForCausalLM"}},
          {"model_type", "qwen3"},
          {"vocab_size", m.at("vocab_size")},
          {"hidden_size", m.at("d_model")},
          {"intermediate_size", m.at("ffn_hidden")},
          {"num_hidden_layers", m.at("n_layer")},
          {"num_attention_heads", m.at("n_head")},
          {"num_key_value_heads", m.at("n_kv_head")},
          {"head_dim", m.at("head_dim")},
          {"max_position_embeddings",
           tree.contains("train") ? tree["train"].value("seq_len", json(4096)) : json(4096)},
          {"rope_theta", m.at("rope_theta")},
          {"rope_scaling", nullptr},
          {"rms_norm_eps", m.at("norm_eps")},
          {"tie_word_embeddings", m.at("tie_embeddings")},
          {"torch_dtype", torch_dtype},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"attention_dropout", 0.0},
          {"use_sliding_window", false},
          {"initializer_range", m.at("init_std")},
          {"use_cache", true},
          {"attnlab",
           {{"format", kAttnlabSectionFormat},
            {"model", m},
            {"attention", {{"variant", a.at("variant")}, {"options", a.at("options")}}}}}};
}

json tree_from_hf_config(const json& c, const std::string& file) {
  if (!c.is_object()) throw std::invalid_argument(file + ": not a JSON object");
  if (c.contains("attnlab")) {
    const auto& s = c["attnlab"];
    if (get<int>(s, file, "format") != kAttnlabSectionFormat) {
      fail(file, "attnlab.format",
           "is " + s["format"].dump() + "; this attnlab reads format " +
               std::to_string(kAttnlabSectionFormat));
    }
    return {{"model", get<json>(s, file, "model")}, {"attention", get<json>(s, file, "attention")}};
  }
  check_expressible(c, file);
  const auto heads = get<int64_t>(c, file, "num_attention_heads");
  const auto hidden = get<int64_t>(c, file, "hidden_size");
  const json model = {{"name", "hf_qwen3"},
                      {"vocab_size", get<int64_t>(c, file, "vocab_size")},
                      {"d_model", hidden},
                      {"n_layer", get<int64_t>(c, file, "num_hidden_layers")},
                      {"n_head", heads},
                      {"n_kv_head", get<int64_t>(c, file, "num_key_value_heads", heads)},
                      {"head_dim", get<int64_t>(c, file, "head_dim", hidden / heads)},
                      {"ffn_hidden", get<int64_t>(c, file, "intermediate_size")},
                      {"rope_theta", get<double>(c, file, "rope_theta", 10000.0)},
                      {"norm_eps", get<double>(c, file, "rms_norm_eps", 1e-6)},
                      {"init_std", get<double>(c, file, "initializer_range", 0.02)},
                      {"tie_embeddings", get<bool>(c, file, "tie_word_embeddings", false)},
                      {"sigma_reparam", false}};
  return {{"model", model}, {"attention", {{"variant", "dense"}, {"options", json::object()}}}};
}

}  // namespace attnlab::interop
