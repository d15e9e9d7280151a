// Autoregressive generation with the decoder's KV cache (kv_cache.h): the prompt fills the
// cache, then each step feeds the last chosen token and samples the next one (sampling.h).
// With verify, every step is also recomputed without the cache, by a full forward over the
// whole sequence so far, and the token that computation chooses with the same uniform draw
// must be the same.
#pragma once
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "attnlab/model/decoder.h"
#include "attnlab/model/kv_cache.h"
#include "attnlab/model/sampling.h"

namespace attnlab::model {

struct GenerationOptions {
  int64_t max_new_tokens = 64;
  bool verify = false;
  // Only ids below this are ever chosen (the tokenizer's vocabulary when the embedding is
  // padded beyond it); 0: every logit.
  int64_t vocab_limit = 0;
};

struct GenerationResult {
  std::vector<int64_t> tokens;  // the new tokens, in order
  double prompt_seconds = 0.0;  // filling the cache with the prompt
  // The steps that chose tokens: cached forwards and sampling, not --verify's recomputation.
  double decode_seconds = 0.0;
  int64_t cache_bytes_per_token = 0;  // KVCache::bytes_per_token
  int64_t cache_peak_bytes = 0;       // KVCache::peak_bytes
  // New tokens per second of generation: tokens / (prompt_seconds + decode_seconds).
  double tokens_per_second() const;
};

// A token of the cached path differing from the full recomputation's (verify).
class VerifyError : public std::runtime_error {
 public:
  VerifyError(int64_t step, int64_t cached_token, int64_t full_token);
  int64_t step, cached_token, full_token;  // step 0 chooses the first new token
};

// Generates max_new_tokens tokens after `prompt` (at least one id) for one sequence, calling
// on_token with each as soon as it is chosen. The model must be in eval mode. The prompt goes
// in one forward, or one token at a time when the cache is rolling (so a cache of reach w
// never holds more than w + 1 positions). Throws VerifyError naming the step and both tokens
// when verify finds a difference; std::invalid_argument on an empty prompt, a negative
// max_new_tokens, an id outside the model's vocabulary or a model in training mode.
GenerationResult generate(Decoder& model, KVCache& cache, const std::vector<int64_t>& prompt,
                          Sampler& sampler, const GenerationOptions& options,
                          const std::function<void(int64_t)>& on_token);

}  // namespace attnlab::model
