// `data prepare` end to end: the FineWeb sample becomes shards whose tokens are identical to
// the reference shard; gzip/zstd/text inputs; Qwen3 uint32 shards; thread-count independence;
// bad input (malformed lines, empty or missing input, earlier output) is a clear error and
// never loses what was written before.
#include <zlib.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attnlab/data/prepare.h"
#include "attnlab/data/shard.h"
#include "test_helpers.h"

using namespace attnlab::data;
using namespace attnlab::test;
namespace fs = std::filesystem;

namespace {

const std::string kSample = shared_path("data/fineweb/fineweb-sample-300.jsonl");

std::vector<std::string> sample_lines(size_t n) {
  std::ifstream f(kSample);
  std::vector<std::string> lines;
  for (std::string l; lines.size() < n && std::getline(f, l);) lines.push_back(l);
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

PrepareOptions base_options(const TempDir& dir, std::vector<std::string> inputs) {
  PrepareOptions o;
  o.inputs = std::move(inputs);
  o.output_dir = dir.file("out");
  o.tokenizer_dir = shared_path("tokenizers");
  o.progress = false;
  o.threads = 2;
  return o;
}

std::vector<uint32_t> all_tokens(const PrepareResult& r) {
  std::vector<uint32_t> out;
  for (const auto& s : r.shards) {
    MappedShard m(s.path);
    for (uint64_t i = 0; i < m.size(); ++i) out.push_back(m.at(i));
  }
  return out;
}

}  // namespace

TEST_CASE("prepare on the FineWeb sample reproduces the reference shard's tokens", "[prepare]") {
  TempDir dir("prepare_fineweb");
  auto o = base_options(dir, {kSample});
  o.shard_tokens = 50000;
  o.val_tokens = 16384;
  const auto r = prepare_shards(o);
  CHECK(r.documents == 300);
  CHECK(r.tokens == 216090);
  REQUIRE(r.shards.size() == 5);  // val 16384, then 50000 x 3 + 49706
  CHECK(fs::path(r.shards[0].path).filename() == "fineweb_val_000000.bin");
  CHECK(fs::path(r.shards[1].path).filename() == "fineweb_train_000001.bin");
  CHECK(fs::path(r.shards[4].path).filename() == "fineweb_train_000004.bin");
  CHECK(r.shards[0].tokens == 16384);
  CHECK(r.shards[4].tokens == 216090 - 16384 - 3 * 50000);
  // Payload bytes of the shards, concatenated, equal the reference shard's payload.
  std::string ours;
  for (const auto& s : r.shards) {
    std::ifstream f(s.path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ours += bytes.substr(1024);
  }
  std::ifstream ref(kReferenceShard, std::ios::binary);
  const std::string ref_bytes((std::istreambuf_iterator<char>(ref)),
                              std::istreambuf_iterator<char>());
  CHECK(ours == ref_bytes.substr(1024));
  // The manifest records sources, tokenizer and counts.
  std::ifstream mf(r.manifest_path);
  const auto m = nlohmann::json::parse(mf);
  CHECK(m["tokens"] == 216090);
  CHECK(m["documents"] == 300);
  CHECK(m["tokenizer"]["name"] == "gpt2");
  CHECK(m["tokenizer"]["hash"].get<std::string>().rfind("fnv1a64:", 0) == 0);
  CHECK(m["sources"][0]["path"] == kSample);
  CHECK(m["shards"].size() == 5);
  for (const auto& e : fs::directory_iterator(o.output_dir)) CHECK(e.path().extension() != ".tmp");
}

TEST_CASE("gzip, zstd and text inputs give the same tokens; threads do not matter", "[prepare]") {
  TempDir dir("prepare_formats");
  const auto lines = sample_lines(25);
  const std::string text = joined(lines);
  std::ofstream(dir.file("a.jsonl"), std::ios::binary) << text;
  {
    gzFile gz = gzopen(dir.file("a.jsonl.gz").c_str(), "wb");
    gzwrite(gz, text.data(), unsigned(text.size()));
    gzclose(gz);
  }
  {
    std::string z(ZSTD_compressBound(text.size()), '\0');
    z.resize(ZSTD_compress(z.data(), z.size(), text.data(), text.size(), 3));
    std::ofstream(dir.file("a.jsonl.zst"), std::ios::binary) << z;
  }
  std::vector<std::vector<uint32_t>> results;
  for (const std::string f : {"a.jsonl", "a.jsonl.gz", "a.jsonl.zst"}) {
    for (int threads : {1, 3}) {
      auto o = base_options(dir, {dir.file(f)});
      o.val_tokens = 1000;
      o.threads = threads;
      o.overwrite = true;
      const auto r = prepare_shards(o);
      CHECK(r.documents == 25);
      results.push_back(all_tokens(r));
    }
  }
  for (const auto& r : results) CHECK(r == results[0]);
  // The same tokens as the reference shard's first 25 documents.
  const auto reference = read_raw_u16_shard(kReferenceShard);
  REQUIRE(results[0].size() < reference.size());
  CHECK(std::equal(results[0].begin(), results[0].end(), reference.begin()));
  // Plain text files: one document each.
  std::ofstream(dir.file("d1.txt")) << "first document\nwith two lines";
  std::ofstream(dir.file("d2.txt")) << "second";
  auto o = base_options(dir, {dir.file("d*.txt")});
  o.val_tokens = 0;
  o.overwrite = true;
  const auto r = prepare_shards(o);
  CHECK(r.documents == 2);
  REQUIRE(r.shards.size() == 1);
  CHECK(fs::path(r.shards[0].path).filename() == "fineweb_train_000001.bin");
  const auto t = all_tokens(r);
  CHECK(std::count(t.begin(), t.end(), 50256u) == 2);
}

TEST_CASE("prepare with Qwen3 writes uint32 shards equal to the reference ids", "[prepare]") {
  TempDir dir("prepare_qwen");
  std::ofstream(dir.file("first20.jsonl")) << joined(sample_lines(20));
  auto o = base_options(dir, {dir.file("first20.jsonl")});
  o.tokenizer = "qwen3";
  o.val_tokens = 0;
  const auto r = prepare_shards(o);
  REQUIRE(r.shards.size() == 1);
  MappedShard m(r.shards[0].path);
  CHECK(m.magic() == 20240801);
  CHECK(m.version() == 7);
  std::ifstream f(shared_path("data/fineweb/reference/fineweb-sample-300.qwen3-first20.json"));
  const auto ref = nlohmann::json::parse(f);
  std::vector<uint32_t> expected;
  for (const auto& d : ref["docs"]) {
    expected.push_back(151643);
    for (const auto& id : d["qwen_ids"]) expected.push_back(id.get<uint32_t>());
  }
  CHECK(all_tokens(r) == expected);
}

TEST_CASE("prepare: bad input is a clear error and loses nothing", "[prepare][errors]") {
  TempDir dir("prepare_errors");
  auto lines = sample_lines(5);
  lines.insert(lines.begin() + 2, "{\"text\": \"unterminated");
  lines.insert(lines.begin() + 4, "{\"body\": \"no text field\"}");
  std::ofstream(dir.file("bad.jsonl")) << joined(lines);
  auto o = base_options(dir, {dir.file("bad.jsonl")});
  o.val_tokens = 0;

  SECTION("a malformed line stops the run, naming file:line") {
    CHECK_THROWS_WITH(prepare_shards(o), Catch::Contains("bad.jsonl:3: malformed JSON") &&
                                             Catch::Contains("--skip-bad-lines"));
  }
  SECTION("or is skipped with a warning") {
    o.skip_bad_lines = true;
    std::ostringstream sink;
    auto* old = std::cerr.rdbuf(sink.rdbuf());
    const auto r = prepare_shards(o);
    std::cerr.rdbuf(old);
    CHECK(r.documents == 5);
    CHECK(r.skipped_lines == 2);
    CHECK_THAT(sink.str(), Catch::Contains("bad.jsonl:5: no string field \"text\""));
  }
  SECTION("a missing field names the field") {
    std::ofstream(dir.file("other.jsonl")) << "{\"body\": \"x\"}\n";
    o.inputs = {dir.file("other.jsonl")};
    CHECK_THROWS_WITH(prepare_shards(o),
                      Catch::Contains("other.jsonl:1") && Catch::Contains("--text-field"));
  }
  SECTION("empty input") {
    std::ofstream(dir.file("empty.jsonl")) << "\n\n";
    o.inputs = {dir.file("empty.jsonl")};
    CHECK_THROWS_WITH(prepare_shards(o), Catch::Contains("no documents"));
  }
  SECTION("unreadable and unsupported inputs") {
    o.inputs = {dir.file("missing.jsonl")};
    CHECK_THROWS_WITH(prepare_shards(o), Catch::Contains("missing.jsonl"));
    std::ofstream(dir.file("x.csv")) << "a,b\n";
    o.inputs = {dir.file("x.csv")};
    CHECK_THROWS_WITH(prepare_shards(o), Catch::Contains("unsupported file type"));
  }
  SECTION("corrupt compressed input") {
    std::ofstream(dir.file("broken.jsonl.zst"), std::ios::binary) << "\x28\xb5\x2f\xfd garbage";
    o.inputs = {dir.file("broken.jsonl.zst")};
    CHECK_THROWS_WITH(prepare_shards(o),
                      Catch::Contains("broken.jsonl.zst") && Catch::Contains("zstd"));
  }
  SECTION("earlier output is kept unless --overwrite") {
    std::ofstream(dir.file("good.jsonl")) << joined(sample_lines(3));
    o.inputs = {dir.file("good.jsonl")};
    const auto first = prepare_shards(o);
    const auto size_before = fs::file_size(first.shards[0].path);
    CHECK_THROWS_WITH(prepare_shards(o),
                      Catch::Contains("already holds") && Catch::Contains("--overwrite"));
    CHECK(fs::file_size(first.shards[0].path) == size_before);
    // A run that fails midway leaves the earlier shard of another name untouched too.
    o.name = "other";
    o.inputs = {dir.file("bad.jsonl")};
    CHECK_THROWS_AS(prepare_shards(o), DataError);
    CHECK(fs::file_size(first.shards[0].path) == size_before);
    for (const auto& e : fs::directory_iterator(o.output_dir))
      CHECK(e.path().filename().string().rfind("other_", 0) != 0);
  }
}
