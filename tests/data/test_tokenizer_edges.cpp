// Tokenizer edge cases: empty text, whitespace runs, \r\n, upper-case contractions, digits,
// emoji, CJK, combining marks (NFC), special tokens on request only, invalid UTF-8,
// pathological lengths, and bad tokenizer files. Split behaviour is checked as "the ids of
// the whole equal the ids of the expected pieces concatenated".
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>

#include "attnlab/data/tokenizer.h"
#include "test_helpers.h"

using namespace attnlab::data;
using namespace attnlab::test;

namespace {

const Tokenizer& gpt2() {
  static const Tokenizer t = Tokenizer::load("gpt2", shared_path("tokenizers"));
  return t;
}
const Tokenizer& qwen3() {
  static const Tokenizer t = Tokenizer::load("qwen3", shared_path("tokenizers"));
  return t;
}

std::vector<int32_t> concat(const Tokenizer& t, const std::vector<std::string>& pieces) {
  std::vector<int32_t> out;
  for (const auto& p : pieces) t.encode_into(p, out);
  return out;
}

// Random valid UTF-8 from a mix of ASCII, whitespace, Latin, combining marks, CJK, emoji.
std::string random_text(std::mt19937_64& rng, size_t n_chars) {
  static const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x20, 0x7E},       {0x09, 0x0D},     {0xC0, 0x17F},    {0x300, 0x36F}, {0x4E00, 0x9FFF},
      {0x1F600, 0x1F64F}, {0x3000, 0x3000}, {0x0400, 0x04FF}, {0x30, 0x39}};
  std::string s;
  for (size_t i = 0; i < n_chars; ++i) {
    const auto& [lo, hi] = ranges[rng() % ranges.size()];
    uint32_t cp = lo + uint32_t(rng() % (hi - lo + 1));
    if (cp < 0x80) {
      s += char(cp);
    } else if (cp < 0x800) {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += char(0xE0 | (cp >> 12));
      s += char(0x80 | ((cp >> 6) & 0x3F));
      s += char(0x80 | (cp & 0x3F));
    } else {
      s += char(0xF0 | (cp >> 18));
      s += char(0x80 | ((cp >> 12) & 0x3F));
      s += char(0x80 | ((cp >> 6) & 0x3F));
      s += char(0x80 | (cp & 0x3F));
    }
  }
  return s;
}

}  // namespace

TEST_CASE("well-known GPT-2 ids", "[tokenizer]") {
  CHECK(gpt2().encode("").empty());
  CHECK(gpt2().encode("Hello world") == std::vector<int32_t>{15496, 995});
  CHECK(gpt2().encode(" the") == std::vector<int32_t>{262});
  CHECK(gpt2().encode("\n") == std::vector<int32_t>{198});
  CHECK(qwen3().encode("").empty());
}

TEST_CASE("pre-token boundaries follow each tokenizer's regex", "[tokenizer]") {
  // Whitespace runs: all but the last space stand alone, the last joins the next word.
  CHECK(gpt2().encode("a   b") == concat(gpt2(), {"a", "  ", " b"}));
  CHECK(gpt2().encode("a \t\n  ") == concat(gpt2(), {"a", " \t\n  "}));
  // \r\n: Qwen keeps newline runs apart from the words around them.
  CHECK(qwen3().encode("x\r\n\r\ny") == concat(qwen3(), {"x", "\r\n\r\n", "y"}));
  CHECK(gpt2().encode("x\r\ny") == concat(gpt2(), {"x", "\r\n", "y"}));
  // Contractions: GPT-2's are case-sensitive, Qwen3's are not.
  CHECK(gpt2().encode("DON'T") == concat(gpt2(), {"DON", "'", "T"}));
  CHECK(gpt2().encode("don't") == concat(gpt2(), {"don", "'t"}));
  CHECK(qwen3().encode("DON'T") == concat(qwen3(), {"DON", "'T"}));
  CHECK(qwen3().encode("WE'LL") == concat(qwen3(), {"WE", "'LL"}));
  // Digits: GPT-2 keeps runs, Qwen3 splits every digit.
  CHECK(gpt2().encode("in 2024") == concat(gpt2(), {"in", " 2024"}));
  CHECK(qwen3().encode("2024") == concat(qwen3(), {"2", "0", "2", "4"}));
  CHECK(qwen3().encode("2024").size() == 4);
  // Punctuation: an optional leading space, then the run.
  CHECK(gpt2().encode("hi !!?") == concat(gpt2(), {"hi", " !!?"}));
}

TEST_CASE("decode(encode(s)) == s for emoji, CJK, combining marks and random text", "[tokenizer]") {
  const std::vector<std::string> samples = {"emoji 😀👍🏽 family 👨‍👩‍👧",
                                            "中文字符和日本語のテキスト",
                                            "e\xCC\x81 combining acute",
                                            "\t\t  \n\n\r\n  trailing   ",
                                            "ÀÉÎÕÜ ß ſ K",
                                            "<|endoftext|> inside text"};
  for (const auto& s : samples) {
    CHECK(gpt2().decode(gpt2().encode(s)) == s);
  }
  std::mt19937_64 rng(20261123);
  for (int i = 0; i < 200; ++i) {
    const std::string s = random_text(rng, 1 + rng() % 80);
    REQUIRE(gpt2().decode(gpt2().encode(s)) == s);
  }
}

TEST_CASE("Qwen3 normalises to NFC before tokenizing", "[tokenizer]") {
  // e + COMBINING ACUTE is é after NFC; the ids equal those of the precomposed text.
  CHECK(qwen3().encode("caf"
                       "e\xCC\x81") == qwen3().encode("caf\xC3\xA9"));
  CHECK(qwen3().decode(qwen3().encode("caf"
                                      "e\xCC\x81")) == "caf\xC3\xA9");
  // GPT-2 has no normaliser: the decomposed form survives.
  CHECK(gpt2().decode(gpt2().encode("e\xCC\x81")) == "e\xCC\x81");
  CHECK(gpt2().encode("e\xCC\x81") != gpt2().encode("\xC3\xA9"));
  // Text already in NFC round-trips unchanged through Qwen3.
  for (const std::string s : {"中文 😀 Ünïcödé", "plain ascii", "Ελληνικά"})
    CHECK(qwen3().decode(qwen3().encode(s)) == s);
}

TEST_CASE("special tokens are recognised only when asked", "[tokenizer]") {
  const std::string text = "end<|endoftext|>start";
  const auto plain = gpt2().encode(text);
  CHECK(std::find(plain.begin(), plain.end(), 50256) == plain.end());
  const auto special = gpt2().encode(text, /*allow_special=*/true);
  CHECK(special == std::vector<int32_t>{gpt2().encode("end")[0], 50256, gpt2().encode("start")[0]});
  CHECK(gpt2().decode(plain) == text);
  CHECK(gpt2().decode(special) == text);
  const auto q = qwen3().encode("<|im_start|>user", true);
  CHECK(q.front() == 151644);
  const auto q_plain = qwen3().encode("<|im_start|>user");
  CHECK(std::find(q_plain.begin(), q_plain.end(), 151644) == q_plain.end());
}

TEST_CASE("invalid UTF-8 becomes one token per stray byte and round-trips", "[tokenizer]") {
  const std::string bad =
      "ok \xFF\xFE then \xC3 truncated \xED\xA0\x80 surrogate \xC0\xAF overlong";
  for (const Tokenizer* t : {&gpt2(), &qwen3()}) {
    const auto ids = t->encode(bad);
    CHECK(t->decode(ids) == bad);
    // The stray 0xFF is its own token.
    CHECK(std::count(ids.begin(), ids.end(), t->encode(std::string(1, '\xFF'))[0]) == 1);
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    std::string bytes(1 + rng() % 64, '\0');
    for (auto& c : bytes) c = char(rng());
    REQUIRE(gpt2().decode(gpt2().encode(bytes)) == bytes);
  }
}

TEST_CASE("very long pieces and whitespace runs round-trip and do not hang", "[tokenizer]") {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string spaces(200000, ' ');
  const std::string letters(200000, 'a');
  std::string mixed_text;
  for (int i = 0; i < 20000; ++i) mixed_text += "ab\xCC\x81";
  const std::string& mixed = mixed_text;
  for (const std::string* s : {&spaces, &letters, &mixed}) {
    CHECK(gpt2().decode(gpt2().encode(*s)) == *s);
    CHECK(qwen3().encode(*s).size() > 0);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // A hang detector, not a speed target (benchmarks/ owns speed): this takes about 1 s on one
  // core; minutes survive any load but not an encoder gone badly super-linear on 200,000 bytes.
  CHECK(seconds < 300.0);
}

TEST_CASE("decoding an unknown id and bad tokenizer files are clear errors",
          "[tokenizer][errors]") {
  CHECK_THROWS_WITH(gpt2().decode(std::vector<int32_t>{50257}),
                    Catch::Contains("token id 50257") && Catch::Contains("0..50256"));
  CHECK_THROWS_WITH(Tokenizer::load("nosuch", shared_path("tokenizers")),
                    Catch::Contains("nosuch") && Catch::Contains("gpt2"));
  TempDir dir("tokenizer_bad");
  {
    std::ofstream(dir.file("encoder.json")) << R"({"a": 0, "b": 1})";
    std::ofstream(dir.file("vocab.bpe")) << "#version: 0.2\na b\n";
  }
  CHECK_THROWS_WITH(Tokenizer::load(dir.path.string()), Catch::Contains("byte 0 has no token"));
  {
    std::ofstream(dir.file("tokenizer.json"))
        << R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
              "normalizer": {"type": "NFKC"}, "pre_tokenizer": null})";
  }
  CHECK_THROWS_WITH(Tokenizer::load(dir.path.string()),
                    Catch::Contains("NFKC") && Catch::Contains("not supported"));
  { std::ofstream(dir.file("tokenizer.json")) << "{not json"; }
  CHECK_THROWS_WITH(Tokenizer::load(dir.file("tokenizer.json")), Catch::Contains("not valid JSON"));
}
