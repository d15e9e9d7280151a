// generate (generation.h): prompt into the cache, then one cached step per new token, each
// optionally checked against a full forward over the sequence so far.
#include "attnlab/model/generation.h"

#include <torch/torch.h>

#include <chrono>

namespace attnlab::model {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void check_inputs(const Decoder& model, const KVCache& cache, const std::vector<int64_t>& prompt,
                  const GenerationOptions& options) {
  if (model->is_training()) {
    throw std::invalid_argument(
        "generate: call model->eval() first (sigmaReparam's training "
        "mode would change the weights on every forward)");
  }
  if (prompt.empty()) throw std::invalid_argument("generate: the prompt has no tokens");
  if (options.max_new_tokens < 0) {
    throw std::invalid_argument("generate: max_new_tokens must be >= 0, got " +
                                std::to_string(options.max_new_tokens));
  }
  if (cache.position() != 0) throw std::invalid_argument("generate: the cache is not empty");
  const int64_t V = model->config().vocab_size;
  for (const int64_t id : prompt) {
    if (id < 0 || id >= V) {
      throw std::invalid_argument("generate: prompt token " + std::to_string(id) +
                                  " is outside the model's vocabulary [0, " + std::to_string(V) +
                                  ")");
    }
  }
}

torch::Tensor ids_1T(const std::vector<int64_t>& ids, int64_t begin, int64_t end) {
  return torch::tensor(std::vector<int64_t>(ids.begin() + begin, ids.begin() + end), torch::kInt64)
      .unsqueeze(0);
}

// The last position's logits, restricted to the ids that may be chosen.
torch::Tensor last_logits_V(const torch::Tensor& logits_BTV, int64_t vocab_limit) {
  const auto row_V = logits_BTV[0][logits_BTV.size(1) - 1];
  return vocab_limit > 0 ? row_V.narrow(0, 0, vocab_limit) : row_V;
}

// Feeds prompt into the empty cache; returns the logits of its last position.
torch::Tensor fill_cache(Decoder& model, KVCache& cache, const std::vector<int64_t>& prompt) {
  const int64_t P = static_cast<int64_t>(prompt.size());
  const int64_t chunk = cache.is_rolling() ? 1 : P;
  torch::Tensor logits_BTV;
  for (int64_t t = 0; t < P; t += chunk) {
    logits_BTV = model->forward_cached(ids_1T(prompt, t, std::min(P, t + chunk)), cache);
  }
  return logits_BTV;
}

void verify_step(Decoder& model, const std::vector<int64_t>& sequence, const Sampler& sampler,
                 double u, int64_t cached_token, int64_t step, int64_t vocab_limit) {
  const auto full_BTV = model->forward(ids_1T(sequence, 0, static_cast<int64_t>(sequence.size())));
  const int64_t full_token = sampler.choose(last_logits_V(full_BTV, vocab_limit), u);
  if (full_token != cached_token) throw VerifyError(step, cached_token, full_token);
}

}  // namespace

VerifyError::VerifyError(int64_t step, int64_t cached_token, int64_t full_token)
    : std::runtime_error("--verify: at step " + std::to_string(step) +
                         " the KV-cache path chose token " + std::to_string(cached_token) +
                         " but the full recomputation without the cache chose token " +
                         std::to_string(full_token)),
      step(step),
      cached_token(cached_token),
      full_token(full_token) {}

double GenerationResult::tokens_per_second() const {
  const double seconds = prompt_seconds + decode_seconds;
  return seconds > 0 ? static_cast<double>(tokens.size()) / seconds : 0.0;
}

GenerationResult generate(Decoder& model, KVCache& cache, const std::vector<int64_t>& prompt,
                          Sampler& sampler, const GenerationOptions& options,
                          const std::function<void(int64_t)>& on_token) {
  check_inputs(model, cache, prompt, options);
  torch::NoGradGuard no_grad;
  GenerationResult result;
  std::vector<int64_t> sequence = prompt;
  auto start = Clock::now();
  auto logits_BTV = fill_cache(model, cache, prompt);
  result.prompt_seconds = seconds_since(start);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    start = Clock::now();
    const auto length = static_cast<int64_t>(sequence.size());
    if (step > 0) logits_BTV = model->forward_cached(ids_1T(sequence, length - 1, length), cache);
    const double u = sampler.draw();
    const int64_t token = sampler.choose(last_logits_V(logits_BTV, options.vocab_limit), u);
    result.decode_seconds += seconds_since(start);
    if (options.verify) verify_step(model, sequence, sampler, u, token, step, options.vocab_limit);
    sequence.push_back(token);
    result.tokens.push_back(token);
    on_token(token);
  }
  result.cache_bytes_per_token = cache.bytes_per_token();
  result.cache_peak_bytes = cache.peak_bytes();
  return result;
}

}  // namespace attnlab::model
