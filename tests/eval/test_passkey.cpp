// The passkey prompt over FineWeb filler (GPT-2 tokenizer, ../shared): its length, the needle
// at the requested depth (within one filler token), the filler around it one contiguous run
// of the pool, the passkey's span and answer tokens, determinism, and bad options named.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "attnlab/data/passkey.h"

using namespace attnlab::data;

namespace {

const std::string kShared = ATTNLAB_SHARED_DIR;

const Tokenizer& gpt2() {
  static const Tokenizer t = Tokenizer::load("gpt2", kShared + "/tokenizers");
  return t;
}

const std::vector<int32_t>& filler() {
  static const auto f =
      passkey_filler(gpt2(), {kShared + "/data/fineweb/fineweb-sample-300.jsonl"}, 6000);
  return f;
}

bool is_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

TEST_CASE("the passkey sits at the requested depth of a prompt of the requested length",
          "[passkey]") {
  const auto question = gpt2().encode(" What is the pass key? The pass key is");
  for (int64_t length : {120, 700, 2000}) {
    for (double depth : {0.0, 0.1, 0.5, 0.77, 1.0}) {
      INFO("length " << length << ", depth " << depth);
      const auto p = passkey_prompt(gpt2(), filler(), {length, depth, uint64_t(length) + 3, 5});
      REQUIRE(p.tokens.size() == size_t(length));
      REQUIRE(std::equal(question.begin(), question.end(), p.tokens.end() - question.size()));
      const size_t needle = p.needle_end - p.needle_begin;
      const double n_filler = double(length) - double(needle) - double(question.size());
      CHECK(std::fabs(double(p.needle_begin) - depth * n_filler) <= 1.0);
      CHECK(gpt2().decode(std::vector<int32_t>(p.tokens.begin() + p.needle_begin,
                                               p.tokens.begin() + p.needle_end)) ==
            " The pass key is " + p.passkey + ". Remember it.");
      // The filler before and after the needle is one contiguous run of the pool.
      std::vector<int32_t> run(p.tokens.begin(), p.tokens.begin() + p.needle_begin);
      run.insert(run.end(), p.tokens.begin() + p.needle_end, p.tokens.end() - question.size());
      REQUIRE(run.size() == size_t(n_filler));
      const auto at = std::search(filler().begin(), filler().end(), run.begin(), run.end());
      CHECK(at != filler().end());
      // The passkey: 5 digits, its span inside the needle, the answer its tokens.
      CHECK(p.passkey.size() == 5);
      CHECK(is_digits(p.passkey));
      CHECK(p.passkey[0] != '0');
      CHECK(p.needle_begin < p.passkey_begin);
      CHECK(p.passkey_end < p.needle_end);
      CHECK(gpt2().decode(p.answer) == " " + p.passkey);
      CHECK(std::vector<int32_t>(p.tokens.begin() + p.passkey_begin,
                                 p.tokens.begin() + p.passkey_end) == p.answer);
    }
  }
}

TEST_CASE("passkey prompts are deterministic for a seed and vary with it", "[passkey]") {
  const auto a = passkey_prompt(gpt2(), filler(), {500, 0.3, 42, 5});
  const auto b = passkey_prompt(gpt2(), filler(), {500, 0.3, 42, 5});
  CHECK(a.tokens == b.tokens);
  CHECK(a.passkey == b.passkey);
  std::set<std::string> keys;
  for (uint64_t seed = 0; seed < 20; ++seed)
    keys.insert(passkey_prompt(gpt2(), filler(), {500, 0.3, seed, 5}).passkey);
  CHECK(keys.size() >= 18);
  const auto digits = passkey_prompt(gpt2(), filler(), {500, 0.3, 1, 9});
  CHECK(digits.passkey.size() == 9);
}

TEST_CASE("bad passkey options are errors naming the value", "[passkey]") {
  CHECK_THROWS_WITH(passkey_prompt(gpt2(), filler(), {500, 1.5, 0, 5}),
                    Catch::Contains("depth 1.5"));
  CHECK_THROWS_WITH(passkey_prompt(gpt2(), filler(), {10, 0.5, 0, 5}),
                    Catch::Contains("length 10"));
  CHECK_THROWS_WITH(passkey_prompt(gpt2(), filler(), {500, 0.5, 0, 0}),
                    Catch::Contains("digits 0"));
  CHECK_THROWS_WITH(passkey_prompt(gpt2(), filler(), {int64_t(filler().size()) + 100, 0.5, 0, 5}),
                    Catch::Contains("filler of"));
  CHECK_THROWS_WITH(
      passkey_filler(gpt2(), {kShared + "/data/fineweb/fineweb-sample-300.jsonl"}, 1u << 30),
      Catch::Contains("fewer than the"));
}
