// generate(): the tokens equal a loop written here that recomputes the whole sequence every
// step with a sampler of the same seed (a plain cache and a rolling one); verify passes on a
// correct cache and names the step and both tokens when a variant's cached path is wrong;
// vocab_limit bounds the ids; bad inputs are refused.
#include <catch2/catch.hpp>

#include "attnlab/model/generation.h"
#include "generate_fixture.h"

using namespace attnlab;
using namespace attnlab::test;

namespace {

const std::vector<int64_t> kPrompt = {5, 17, 42, 8, 33, 0, 21};

// The reference: full forward over the sequence so far, last row, same sampler seed.
std::vector<int64_t> recomputed_tokens(model::Decoder& decoder, const model::SamplingOptions& o,
                                       uint64_t seed, int64_t n) {
  torch::NoGradGuard no_grad;
  model::Sampler sampler(o, seed);
  std::vector<int64_t> sequence = kPrompt, out;
  for (int64_t i = 0; i < n; ++i) {
    const auto ids_1T = torch::tensor(sequence, torch::kInt64).unsqueeze(0);
    const auto logits_V = decoder->forward(ids_1T)[0][-1];
    out.push_back(sampler.next(logits_V));
    sequence.push_back(out.back());
  }
  return out;
}

model::GenerationResult run_generate(model::Decoder& decoder, const std::string& plugin,
                                     const model::SamplingOptions& o, uint64_t seed,
                                     model::GenerationOptions options,
                                     std::vector<int64_t>* streamed = nullptr) {
  auto cache = decoder->make_kv_cache(plugin);
  model::Sampler sampler(o, seed);
  return model::generate(decoder, cache, kPrompt, sampler, options, [&](int64_t id) {
    if (streamed) streamed->push_back(id);
  });
}

// Dense causal attention; when decoding (S != T) it forgets the cached keys and reads only
// the new ones: a wrong cached path for verify to catch.
class ForgetfulVariant : public AttentionVariant {
 public:
  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                        const torch::Tensor& v_BKSD, const AttentionContext&) override {
    const int64_t T = q_BHTD.size(2), S = k_BKSD.size(2), group = q_BHTD.size(1) / k_BKSD.size(1);
    const auto k_BHTD = k_BKSD.narrow(2, S - T, T).repeat_interleave(group, 1);
    const auto v_BHTD = v_BKSD.narrow(2, S - T, T).repeat_interleave(group, 1);
    auto s_BHTT = torch::matmul(q_BHTD, k_BHTD.transpose(-2, -1)) / std::sqrt(q_BHTD.size(3));
    const auto future_TT = torch::ones({T, T}, torch::kBool).triu(1);
    return torch::matmul(torch::softmax(s_BHTT.masked_fill(future_TT, -INFINITY), -1), v_BHTD);
  }
  AttentionFlops flops(int64_t) const override { return {}; }
  bool supports_decoding() const override { return true; }
};

}  // namespace

TEST_CASE("generated tokens equal full recomputation's, streamed in order", "[generate]") {
  for (const auto& [plugin, options] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"dense", nlohmann::json::object()},
           {"fixed_window", {{"window", 3}}},
           {"gated_window", {{"window", 4}, {"adaptive_threshold", 0}}}}) {
    for (const auto& sampling :
         {model::SamplingOptions{0.0, 0, 1.0}, model::SamplingOptions{1.0, 8, 0.9}}) {
      INFO(plugin << " " << options.dump() << " temperature " << sampling.temperature);
      auto decoder = small_decoder(built_plugins().load(plugin), options);
      model::GenerationOptions g;
      g.max_new_tokens = 16;
      g.verify = true;
      std::vector<int64_t> streamed;
      const auto result = run_generate(decoder, plugin, sampling, 3, g, &streamed);
      CHECK(result.tokens == recomputed_tokens(decoder, sampling, 3, 16));
      CHECK(streamed == result.tokens);
      CHECK(result.cache_bytes_per_token == kLayers * 2 * 2 * 6 * 8);
      CHECK(result.cache_peak_bytes > 0);
      CHECK(result.tokens_per_second() > 0);
    }
  }
}

TEST_CASE("a rolling cache's peak does not grow with the length generated", "[generate]") {
  auto decoder = small_decoder(built_plugins().load("fixed_window"), {{"window", 3}});
  model::GenerationOptions g;
  const auto peak_after = [&](int64_t n) {
    g.max_new_tokens = n;
    return run_generate(decoder, "fixed_window", {1.0, 0, 1.0}, 1, g).cache_peak_bytes;
  };
  const int64_t bytes_per_position = kLayers * 2 * 2 * 6 * 8;
  CHECK(peak_after(5) == 4 * bytes_per_position);  // kv_reach 3 + 1, the prompt included
  CHECK(peak_after(40) == 4 * bytes_per_position);
  auto dense = small_decoder(built_plugins().load("dense"), nlohmann::json::object());
  g.max_new_tokens = 40;
  const auto full = run_generate(dense, "dense", {1.0, 0, 1.0}, 1, g).cache_peak_bytes;
  // the last token is chosen, not fed: prompt + 39 positions
  CHECK(full == (static_cast<int64_t>(kPrompt.size()) + 39) * bytes_per_position);
}

TEST_CASE("verify names the step and both tokens when the cached path is wrong", "[generate]") {
  torch::manual_seed(1234);
  auto config = small_model_config("forgetful", kVocab, kLayers);
  config.init_std = 0.3;
  model::Decoder decoder(
      config, [](const attnlab_layer_dims&) { return std::make_shared<ForgetfulVariant>(); });
  decoder->to(torch::kDouble);
  decoder->eval();
  model::GenerationOptions g;
  g.max_new_tokens = 16;
  g.verify = true;
  try {
    run_generate(decoder, "forgetful", {0.0, 0, 1.0}, 0, g);
    FAIL("verify accepted a cache that forgets every earlier key");
  } catch (const model::VerifyError& e) {
    INFO(e.what());
    CHECK(e.step >= 1);  // step 0's logits come from the prompt, computed as in a full forward
    CHECK(e.cached_token != e.full_token);
    CHECK_THAT(e.what(), Catch::Contains("step " + std::to_string(e.step)) &&
                             Catch::Contains(std::to_string(e.cached_token)) &&
                             Catch::Contains(std::to_string(e.full_token)));
  }
  g.verify = false;  // without verify the same run goes through
  CHECK(run_generate(decoder, "forgetful", {0.0, 0, 1.0}, 0, g).tokens.size() == 16);
}

TEST_CASE("vocab_limit bounds the ids; bad inputs are refused", "[generate]") {
  auto decoder = small_decoder(built_plugins().load("dense"), nlohmann::json::object());
  model::GenerationOptions g;
  g.max_new_tokens = 30;
  g.vocab_limit = 10;
  for (const int64_t id : run_generate(decoder, "dense", {2.0, 0, 1.0}, 4, g).tokens) {
    CHECK(id < 10);
  }
  auto cache = decoder->make_kv_cache("dense");
  model::Sampler sampler({1.0, 0, 1.0}, 0);
  const auto none = [](int64_t) {};
  CHECK_THROWS_WITH(model::generate(decoder, cache, {}, sampler, g, none),
                    Catch::Contains("no tokens"));
  CHECK_THROWS_WITH(model::generate(decoder, cache, {kVocab}, sampler, g, none),
                    Catch::Contains("outside the model's vocabulary"));
  decoder->train();
  CHECK_THROWS_WITH(model::generate(decoder, cache, kPrompt, sampler, g, none),
                    Catch::Contains("eval()"));
}
