// Choosing the next token from a row of logits: greedy (temperature 0), temperature, top-k
// and top-p (nucleus) sampling, seeded. A draw is one uniform number u in [0, 1) from the
// sampler's own std::mt19937_64 (53 bits), then the first token whose cumulative probability
// exceeds u, so the same seed gives the same tokens on every machine, and two rows of logits
// can be sampled with the same u (what `attnlab generate --verify` compares).
//
// Shape legend: V vocabulary.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <random>

namespace attnlab::model {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy (the argmax, the first of ties)
  int64_t top_k = 0;         // keep only the k most probable tokens; 0: all
  double top_p = 1.0;        // then keep the fewest most probable whose mass reaches p; 1: all
};

// Throws std::invalid_argument naming the option (--temperature, --top-k, --top-p) and its
// range: temperature >= 0 and finite, top_k >= 0, 0 < top_p <= 1.
void check_sampling_options(const SamplingOptions& options);

// The distribution a draw picks from, fp64 [V] summing to 1: softmax(logits_V / temperature);
// then zero outside the top_k largest (ties broken by the lower id); then zero outside the
// smallest prefix, by descending probability, whose mass is >= top_p; renormalised. For
// temperature 0: one-hot on the argmax.
torch::Tensor sampling_distribution(const torch::Tensor& logits_V, const SamplingOptions& options);

// The first id whose cumulative probability exceeds u (u in [0, 1)); the last id of nonzero
// probability when rounding leaves the total at or below u.
int64_t pick_token(const torch::Tensor& probs_V, double u);

class Sampler {
 public:
  // Checks the options (check_sampling_options).
  Sampler(const SamplingOptions& options, uint64_t seed);
  const SamplingOptions& options() const { return options_; }
  // The next uniform draw in [0, 1).
  double draw();
  // pick_token(sampling_distribution(logits_V), u): the token u chooses from these logits.
  int64_t choose(const torch::Tensor& logits_V, double u) const;
  // choose(logits_V, draw()).
  int64_t next(const torch::Tensor& logits_V) { return choose(logits_V, draw()); }

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace attnlab::model
