// ModelConfig: parsing from the validated `model:` section, its schema, and counts.
#include "attnlab/model/model_config.h"

namespace attnlab::model {

ModelConfig ModelConfig::from_json(const nlohmann::json& m) {
  ModelConfig c;
  c.name = m.at("name").get<std::string>();
  c.vocab_size = m.at("vocab_size").get<int64_t>();
  c.d_model = m.at("d_model").get<int64_t>();
  c.n_layer = m.at("n_layer").get<int64_t>();
  c.n_head = m.at("n_head").get<int64_t>();
  c.n_kv_head = m.at("n_kv_head").get<int64_t>();
  c.head_dim = m.at("head_dim").get<int64_t>();
  c.ffn_hidden = m.at("ffn_hidden").get<int64_t>();
  c.rope_theta = m.at("rope_theta").get<double>();
  c.norm_eps = m.at("norm_eps").get<double>();
  c.init_std = m.at("init_std").get<double>();
  c.tie_embeddings = m.at("tie_embeddings").get<bool>();
  c.sigma_reparam = m.value("sigma_reparam", false);  // absent in trees written before the key
  if (c.n_head % c.n_kv_head != 0) {
    throw config::ConfigError("model.n_kv_head", {},
                              "n_head (" + std::to_string(c.n_head) +
                                  ") must be a multiple of n_kv_head (" +
                                  std::to_string(c.n_kv_head) + ")");
  }
  if (c.head_dim % 2 != 0) {
    throw config::ConfigError("model.head_dim", {}, "head_dim must be even for RoPE");
  }
  return c;
}

int64_t ModelConfig::parameter_count(bool non_embedding) const {
  const int64_t C = d_model, H = n_head, K = n_kv_head, D = head_dim, F = ffn_hidden;
  const int64_t attention = C * H * D + 2 * C * K * D + H * D * C + 2 * D;  // q,k,v,o + q/k norms
  const int64_t mlp = 3 * C * F;
  const int64_t sigma_gammas = sigma_reparam ? 7 : 0;  // q, k, v, o, gate, up, down
  const int64_t per_layer = attention + mlp + 2 * C + sigma_gammas;  // + two pre-norms
  const int64_t embedding = vocab_size * C;
  int64_t total = n_layer * per_layer + C;  // + final norm
  if (!non_embedding) total += tie_embeddings ? embedding : 2 * embedding;
  return total;
}

double ModelConfig::dense_flops_per_token() const {
  const double C = d_model, H = n_head, K = n_kv_head, D = head_dim, F = ffn_hidden;
  const double matmul_params = n_layer * (C * H * D + 2 * C * K * D + H * D * C + 3 * C * F) +
                               static_cast<double>(vocab_size) * C;  // LM head
  return 6.0 * matmul_params;
}

config::SectionSchema model_schema() {
  using config::KeySchema;
  using config::ValueType;
  const double inf = std::numeric_limits<double>::infinity();
  config::SectionSchema s;
  s.path = "model";
  s.owner = "model";
  s.keys = {
      {"name", ValueType::String, nullptr, -inf, inf, {}, "preset name (the model/ option)"},
      {"vocab_size", ValueType::Int, nullptr, 2, 1 << 24, {},
       "embedding rows; at least the tokenizer's vocabulary (padding to a multiple of 64 is faster)"},
      {"d_model", ValueType::Int, nullptr, 8, 65536, {}, "model width C"},
      {"n_layer", ValueType::Int, nullptr, 1, 1024, {}, "number of decoder blocks"},
      {"n_head", ValueType::Int, nullptr, 1, 1024, {}, "query heads H"},
      {"n_kv_head", ValueType::Int, nullptr, 1, 1024, {},
       "key/value heads K (grouped-query attention; n_head must be a multiple)"},
      {"head_dim", ValueType::Int, nullptr, 2, 1024, {}, "per-head dimension D (even, for RoPE)"},
      {"ffn_hidden", ValueType::Int, nullptr, 1, 1 << 20, {}, "SwiGLU hidden width"},
      {"rope_theta", ValueType::Float, 10000.0, 1.0, inf, {}, "RoPE base frequency"},
      {"norm_eps", ValueType::Float, 1e-6, 0.0, 1.0, {}, "RMSNorm epsilon"},
      {"init_std", ValueType::Float, 0.02, 0.0, 1.0, {},
       "std of the normal init of weights (output projections scaled by 1/sqrt(2*n_layer))"},
      {"tie_embeddings", ValueType::Bool, true, -inf, inf, {},
       "share the token embedding with the LM head"},
      {"sigma_reparam", ValueType::Bool, false, -inf, inf, {},
       "sigmaReparam (Zhai et al. 2023) on the blocks' linears: W -> (gamma / sigma(W)) * W, "
       "gamma learnable, initialised to sigma(W0)"},
  };
  return s;
}

}  // namespace attnlab::model
