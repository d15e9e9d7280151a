// The small decoder the layer-report and chunked-loss tests build: 4 query heads over 2 kv
// heads of dim 6, d_model 24, SwiGLU 40 wide; vocabulary and depth per test.
#pragma once
#include <cstdint>
#include <string>

#include "attnlab/model/model_config.h"

namespace attnlab::test {

inline model::ModelConfig small_model_config(const std::string& name, int64_t vocab_size,
                                             int64_t n_layer) {
  model::ModelConfig c;
  c.name = name;
  c.vocab_size = vocab_size;
  c.d_model = 24;
  c.n_layer = n_layer;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.head_dim = 6;
  c.ffn_hidden = 40;
  c.rope_theta = 10000.0;
  c.norm_eps = 1e-6;
  c.init_std = 0.1;
  return c;
}

}  // namespace attnlab::test
