// Exactness of the tokenizers against ../shared/data: GPT-2 ids of all 300 FineWeb documents
// equal the reference shard (and FineWeb's own token counts), Qwen3 ids of the first 20
// documents equal the reference JSON, through every way of loading the files.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attnlab/data/shard.h"
#include "attnlab/data/tokenizer.h"
#include "test_helpers.h"

using namespace attnlab::data;
using namespace attnlab::test;

namespace {

std::vector<nlohmann::json> fineweb_docs() {
  std::ifstream f(shared_path("data/fineweb/fineweb-sample-300.jsonl"));
  std::vector<nlohmann::json> docs;
  for (std::string line; std::getline(f, line);) docs.push_back(nlohmann::json::parse(line));
  REQUIRE(docs.size() == 300);
  return docs;
}

const std::string kTokenizers = shared_path("tokenizers");

}  // namespace

TEST_CASE("GPT-2 ids of all 300 FineWeb documents equal the reference shard",
          "[tokenizer][exact]") {
  const auto docs = fineweb_docs();
  const Tokenizer gpt2 = Tokenizer::load("gpt2", kTokenizers);
  CHECK(gpt2.vocab_size() == 50257);
  CHECK(gpt2.eot_id() == 50256);
  const auto reference = read_raw_u16_shard(kReferenceShard);
  std::vector<int32_t> ours;
  int count_checked = 0;
  for (const auto& doc : docs) {
    ours.push_back(gpt2.eot_id());
    const size_t before = ours.size();
    const std::string text = doc["text"].get<std::string>();
    gpt2.encode_into(text, ours);
    const bool anonymised = text.find("example.com") != std::string::npos ||
                            text.find("example.org") != std::string::npos;
    if (!anonymised) {
      INFO("document " << doc["id"]);
      CHECK(ours.size() - before == doc["token_count"].get<size_t>());
      ++count_checked;
    }
  }
  CHECK(count_checked == 289);  // 11 documents hold the placeholders, 9 of them differ
  REQUIRE(ours.size() == reference.size());
  size_t first_difference = ours.size();
  for (size_t i = 0; i < ours.size() && first_difference == ours.size(); ++i)
    if (uint32_t(ours[i]) != reference[i]) first_difference = i;
  CHECK(first_difference == ours.size());
}

TEST_CASE("Qwen3 ids of the first 20 FineWeb documents equal the reference", "[tokenizer][exact]") {
  const auto docs = fineweb_docs();
  std::ifstream f(shared_path("data/fineweb/reference/fineweb-sample-300.qwen3-first20.json"));
  const auto ref = nlohmann::json::parse(f);
  REQUIRE(ref["docs"].size() == 20);
  const std::string dir = kTokenizers + "/qwen3";
  // tokenizer.json, and vocab.json + merges.txt + tokenizer_config.json: same ids.
  const Tokenizer from_json = Tokenizer::load("qwen3", kTokenizers);
  const Tokenizer from_files = Tokenizer::from_vocab_merges(
      dir + "/vocab.json", dir + "/merges.txt", dir + "/tokenizer_config.json");
  CHECK(from_json.vocab_size() == 151669);
  CHECK(from_files.vocab_size() == 151669);
  CHECK(from_json.eot_id() == 151643);
  for (const auto& d : ref["docs"]) {
    const size_t row = d["row"].get<size_t>();
    const std::string text = docs[row]["text"].get<std::string>();
    const auto expected = d["qwen_ids"].get<std::vector<int32_t>>();
    INFO("document " << row);
    CHECK(from_json.encode(text) == expected);
    CHECK(from_files.encode(text) == expected);
  }
}
