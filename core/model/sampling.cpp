// Sampling (sampling.h): the filtered distribution in fp64 on the CPU, then one inverse-CDF
// draw.
#include "attnlab/model/sampling.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace attnlab::model {

namespace {

[[noreturn]] void bad_option(const std::string& flag, const std::string& range, double value) {
  throw std::invalid_argument(flag + " must be " + range + ", got " + std::to_string(value));
}

// probs_V with every id outside `keep_N` set to zero.
torch::Tensor keep_only(const torch::Tensor& probs_V, const torch::Tensor& keep_N) {
  auto kept_V = torch::zeros_like(probs_V);
  kept_V.index_copy_(0, keep_N, probs_V.index_select(0, keep_N));
  return kept_V;
}

// Ids by descending probability, ties by ascending id.
torch::Tensor descending_ids(const torch::Tensor& values_V) {
  return std::get<1>(values_V.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
}

}  // namespace

void check_sampling_options(const SamplingOptions& o) {
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature)) {
    bad_option("--temperature", ">= 0 (0: greedy)", o.temperature);
  }
  if (o.top_k < 0) bad_option("--top-k", ">= 0 (0: no top-k)", static_cast<double>(o.top_k));
  if (!(o.top_p > 0.0 && o.top_p <= 1.0)) bad_option("--top-p", "in (0, 1] (1: no top-p)", o.top_p);
}

torch::Tensor sampling_distribution(const torch::Tensor& logits_V, const SamplingOptions& o) {
  const auto logits = logits_V.detach().to(torch::kCPU, torch::kFloat64).reshape({-1});
  const int64_t V = logits.size(0);
  if (o.temperature == 0.0) {
    auto one_hot_V = torch::zeros_like(logits);
    one_hot_V[descending_ids(logits)[0].item<int64_t>()] = 1.0;
    return one_hot_V;
  }
  auto probs_V = torch::softmax(logits / o.temperature, 0);
  if (o.top_k > 0 && o.top_k < V) {
    probs_V = keep_only(probs_V, descending_ids(logits).narrow(0, 0, o.top_k));
    probs_V /= probs_V.sum();
  }
  if (o.top_p < 1.0) {
    const auto order_V = descending_ids(probs_V);
    const auto mass_V = probs_V.index_select(0, order_V).cumsum(0);
    // the fewest tokens whose mass reaches p: those before the first prefix reaching it, and it
    const int64_t n = std::min<int64_t>(V, mass_V.lt(o.top_p).sum().item<int64_t>() + 1);
    probs_V = keep_only(probs_V, order_V.narrow(0, 0, n));
    probs_V /= probs_V.sum();
  }
  return probs_V;
}

int64_t pick_token(const torch::Tensor& probs_V, double u) {
  const auto p_V = probs_V.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* probs = p_V.data_ptr<double>();
  double cumulative = 0.0;
  int64_t last_nonzero = -1;
  for (int64_t i = 0; i < p_V.size(0); ++i) {
    if (probs[i] <= 0.0) continue;  // never chosen, even when rounding puts u on its edge
    cumulative += probs[i];
    if (cumulative > u) return i;
    last_nonzero = i;
  }
  if (last_nonzero < 0) throw std::invalid_argument("pick_token: every probability is zero");
  return last_nonzero;
}

Sampler::Sampler(const SamplingOptions& options, uint64_t seed) : options_(options), rng_(seed) {
  check_sampling_options(options_);
}

double Sampler::draw() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int64_t Sampler::choose(const torch::Tensor& logits_V, double u) const {
  return pick_token(sampling_distribution(logits_V, options_), u);
}

}  // namespace attnlab::model
