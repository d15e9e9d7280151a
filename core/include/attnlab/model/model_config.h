// The shape of the Qwen3-style decoder: what `model:` in a config holds, its schema, and the
// parameter and FLOP counts derived from it.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "attnlab/config/schema.h"

namespace attnlab::model {

struct ModelConfig {
  std::string name;          // preset name, e.g. "tiny", "qwen3_134m"
  int64_t vocab_size = 0;    // embedding rows (may be padded above the tokenizer's vocabulary)
  int64_t d_model = 0;       // C
  int64_t n_layer = 0;
  int64_t n_head = 0;        // H query heads
  int64_t n_kv_head = 0;     // K key/value heads, H % K == 0
  int64_t head_dim = 0;      // D
  int64_t ffn_hidden = 0;    // SwiGLU hidden width
  double rope_theta = 0.0;
  double norm_eps = 0.0;
  double init_std = 0.0;
  bool tie_embeddings = true;
  // sigmaReparam (sigma_reparam.h) on every linear of the decoder blocks (q/k/v/o, SwiGLU's
  // three); the tied embedding / LM head stays plain. Adds one γ per such linear.
  bool sigma_reparam = false;

  static ModelConfig from_json(const nlohmann::json& model_section);

  // Exact trainable parameter count without the attention variant's own parameters
  // (gates add n_layer * (C * H + H)); `non_embedding` excludes the (tied) embedding.
  // sigma_reparam adds 7 scalars γ per layer.
  int64_t parameter_count(bool non_embedding = false) const;
  // Matmul FLOPs per token for forward+backward without attention scores: 6 * N_matmul,
  // the llm.c convention (attention-score FLOPs are added by the variant). sigma_reparam's power
  // iteration (~4·out·in per linear per step, independent of the tokens) is not counted.
  double dense_flops_per_token() const;
};

// The `model` section of the config schema.
config::SectionSchema model_schema();

}  // namespace attnlab::model
