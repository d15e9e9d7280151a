// Sampling against references written here with std::vector and std::sort: greedy is the
// argmax, top-k never leaves the k largest logits, top-p keeps the smallest nucleus reaching
// p, draws follow the filtered distribution, and the same seed gives the same tokens.
#include <torch/torch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <vector>

#include "attnlab/model/sampling.h"

using namespace attnlab::model;

namespace {

constexpr int64_t V = 50;

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Ids by descending value, ties by ascending id.
std::vector<int64_t> ranked(const std::vector<double>& values) {
  std::vector<int64_t> ids(values.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int64_t a, int64_t b) { return values[a] > values[b]; });
  return ids;
}

// The reference distribution: softmax(logits / T), top-k, then the nucleus, renormalised.
std::vector<double> reference(const std::vector<double>& logits, double T, int64_t k, double p) {
  std::vector<double> probs(logits.size(), 0.0);
  const double top = *std::max_element(logits.begin(), logits.end());
  for (size_t i = 0; i < logits.size(); ++i) probs[i] = std::exp((logits[i] - top) / T);
  const auto order = ranked(logits);
  for (size_t r = (k > 0 ? static_cast<size_t>(k) : order.size()); r < order.size(); ++r) {
    probs[order[r]] = 0.0;
  }
  double total = std::accumulate(probs.begin(), probs.end(), 0.0);
  for (auto& x : probs) x /= total;
  double mass = 0.0;
  for (const int64_t id : ranked(probs)) {
    if (mass >= p) probs[id] = 0.0;
    mass += probs[id];
  }
  total = std::accumulate(probs.begin(), probs.end(), 0.0);
  for (auto& x : probs) x /= total;
  return probs;
}

torch::Tensor random_logits() { return torch::randn({V}, torch::kFloat32) * 2.0; }

}  // namespace

TEST_CASE("greedy picks the argmax", "[generate][sampling]") {
  torch::manual_seed(1);
  Sampler greedy({0.0, 0, 1.0}, 5);
  for (int i = 0; i < 200; ++i) {
    const auto logits = random_logits();
    const auto values = to_vector(logits);
    CHECK(greedy.next(logits) == ranked(values).front());
  }
}

TEST_CASE("the filtered distribution equals the reference", "[generate][sampling]") {
  torch::manual_seed(2);
  for (const auto& [T, k, p] : std::vector<std::tuple<double, int64_t, double>>{{1.0, 0, 1.0},
                                                                                {0.7, 0, 1.0},
                                                                                {1.3, 5, 1.0},
                                                                                {1.0, 0, 0.6},
                                                                                {0.8, 12, 0.9},
                                                                                {2.0, 1, 0.5}}) {
    INFO("temperature " << T << " top_k " << k << " top_p " << p);
    for (int i = 0; i < 20; ++i) {
      const auto logits = random_logits();
      const auto expected = reference(to_vector(logits), T, k, p);
      const auto got = to_vector(sampling_distribution(logits, {T, k, p}));
      REQUIRE(got.size() == expected.size());
      for (size_t j = 0; j < got.size(); ++j) CHECK(got[j] == Approx(expected[j]).margin(1e-12));
    }
  }
}

TEST_CASE("top-k never samples outside the k largest logits", "[generate][sampling]") {
  torch::manual_seed(3);
  for (const int64_t k : {1, 3, 10}) {
    Sampler sampler({1.5, k, 1.0}, 11);
    for (int row = 0; row < 20; ++row) {
      const auto logits = random_logits();
      const auto order = ranked(to_vector(logits));
      const std::vector<int64_t> allowed(order.begin(), order.begin() + k);
      for (int draw = 0; draw < 100; ++draw) {
        const int64_t id = sampler.next(logits);
        INFO("k " << k << " drew " << id);
        CHECK(std::find(allowed.begin(), allowed.end(), id) != allowed.end());
      }
    }
  }
}

TEST_CASE("top-p keeps the smallest nucleus whose mass reaches p", "[generate][sampling]") {
  torch::manual_seed(4);
  for (const double p : {0.3, 0.75, 0.95}) {
    for (int row = 0; row < 20; ++row) {
      const auto logits = random_logits();
      const auto full = to_vector(torch::softmax(logits.to(torch::kFloat64), 0));
      const auto kept = to_vector(sampling_distribution(logits, {1.0, 0, p}));
      double mass = 0.0, smallest = 1.0;
      for (size_t i = 0; i < kept.size(); ++i) {
        if (kept[i] == 0.0) continue;
        mass += full[i];
        smallest = std::min(smallest, full[i]);
      }
      INFO("p " << p << " kept mass " << mass);
      CHECK(mass >= p - 1e-12);            // reaches p
      CHECK(mass - smallest < p + 1e-12);  // without its least probable token it would not
      for (size_t i = 0; i < kept.size(); ++i) {
        if (kept[i] == 0.0) CHECK(full[i] <= smallest);  // nothing more probable left out
      }
    }
  }
}

TEST_CASE("draws follow the filtered distribution", "[generate][sampling]") {
  torch::manual_seed(5);
  const auto logits = random_logits();
  const SamplingOptions options{0.8, 12, 0.9};
  const auto expected = reference(to_vector(logits), 0.8, 12, 0.9);
  Sampler sampler(options, 21);
  constexpr int kDraws = 40000;
  std::vector<int> counts(V, 0);
  for (int i = 0; i < kDraws; ++i) ++counts[sampler.next(logits)];
  for (int64_t id = 0; id < V; ++id) {
    const double q = expected[id], sigma = std::sqrt(kDraws * q * (1 - q));
    INFO("id " << id << " expected " << kDraws * q << " got " << counts[id]);
    if (q == 0.0)
      CHECK(counts[id] == 0);
    else
      CHECK(std::abs(counts[id] - kDraws * q) <= 5 * sigma + 1);
  }
}

TEST_CASE("the same seed gives the same tokens, another seed others", "[generate][sampling]") {
  torch::manual_seed(6);
  const auto logits = random_logits();
  auto draw = [&](uint64_t seed) {
    Sampler sampler({1.0, 0, 0.95}, seed);
    std::vector<int64_t> ids;
    for (int i = 0; i < 100; ++i) ids.push_back(sampler.next(logits));
    return ids;
  };
  CHECK(draw(7) == draw(7));
  CHECK(draw(7) != draw(8));
}

TEST_CASE("pick_token takes the first id whose cumulative probability exceeds u",
          "[generate][sampling]") {
  const auto probs = torch::tensor({0.0, 0.25, 0.0, 0.5, 0.25}, torch::kFloat64);
  CHECK(pick_token(probs, 0.0) == 1);
  CHECK(pick_token(probs, 0.2499) == 1);
  CHECK(pick_token(probs, 0.25) == 3);
  CHECK(pick_token(probs, 0.9999) == 4);
  CHECK(pick_token(probs, 1.0) == 4);  // rounding past the total: the last id with mass
}

TEST_CASE("bad sampling options are refused naming the flag", "[generate][sampling]") {
  CHECK_THROWS_WITH(Sampler({-0.5, 0, 1.0}, 0), Catch::Contains("--temperature"));
  CHECK_THROWS_WITH(Sampler({1.0, -1, 1.0}, 0), Catch::Contains("--top-k"));
  CHECK_THROWS_WITH(Sampler({1.0, 0, 0.0}, 0), Catch::Contains("--top-p"));
  CHECK_THROWS_WITH(Sampler({1.0, 0, 1.5}, 0), Catch::Contains("--top-p"));
}
