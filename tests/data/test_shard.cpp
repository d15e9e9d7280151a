// llm.c shard reading and writing: the reference FineWeb shard, round trips in both token
// widths checked byte by byte against a naive reader, and every kind of corrupt shard.
#include <catch2/catch.hpp>
#include <filesystem>

#include "attnlab/data/shard.h"
#include "test_helpers.h"

using namespace attnlab::data;
using namespace attnlab::test;

TEST_CASE("the reference FineWeb shard maps with its header and tokens", "[shard]") {
  MappedShard shard(kReferenceShard);
  CHECK(shard.magic() == 20240520);
  CHECK(shard.version() == 1);
  CHECK(shard.token_bytes() == 2);
  REQUIRE(shard.size() == 216090);
  const auto naive = read_raw_u16_shard(kReferenceShard);
  std::vector<int32_t> all(shard.size());
  shard.copy(0, shard.size(), all.data());
  for (size_t i = 0; i < naive.size(); ++i) REQUIRE(uint32_t(all[i]) == naive[i]);
  CHECK(all[0] == 50256);  // every document starts with <|endoftext|>
  std::vector<int32_t> mid(7);
  shard.copy(1000, 7, mid.data());
  for (int i = 0; i < 7; ++i) CHECK(uint32_t(mid[i]) == naive[1000 + i]);
  CHECK(shard.at(12345) == naive[12345]);
}

TEST_CASE("ShardWriter round-trips uint16 and uint32 shards", "[shard]") {
  TempDir dir("shard_roundtrip");
  for (uint64_t vocab : {uint64_t{50257}, uint64_t{65536}, uint64_t{151669}}) {
    const auto tokens = random_tokens(5003, uint32_t(vocab), vocab);
    const std::string path = dir.file("s" + std::to_string(vocab) + ".bin");
    {
      ShardWriter w(path, vocab);
      std::vector<int32_t> t(tokens.begin(), tokens.end());
      w.append(t.data(), 3000);                    // in two pieces
      CHECK_FALSE(std::filesystem::exists(path));  // only the temporary name exists so far
      w.append(t.data() + 3000, t.size() - 3000);
      w.finish();
    }
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    const int bytes = vocab <= 65536 ? 2 : 4;
    REQUIRE(std::filesystem::file_size(path) == 1024 + tokens.size() * bytes);
    // Naive byte-level check of header and payload.
    std::ifstream f(path, std::ios::binary);
    int32_t header[256];
    f.read(reinterpret_cast<char*>(header), sizeof(header));
    CHECK(header[0] == (bytes == 2 ? 20240520 : 20240801));
    CHECK(header[1] == (bytes == 2 ? 1 : 7));
    CHECK(header[2] == int32_t(tokens.size()));
    for (int i = 3; i < 256; ++i) REQUIRE(header[i] == 0);
    for (uint32_t expected : tokens) {
      unsigned char b[4] = {0, 0, 0, 0};
      f.read(reinterpret_cast<char*>(b), bytes);
      REQUIRE((b[0] | b[1] << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24) == expected);
    }
    MappedShard back(path);
    REQUIRE(back.size() == tokens.size());
    for (size_t i = 0; i < tokens.size(); i += 97) REQUIRE(back.at(i) == tokens[i]);
  }
}

TEST_CASE("an unfinished ShardWriter leaves nothing that looks like a shard", "[shard]") {
  TempDir dir("shard_unfinished");
  const std::string path = dir.file("x.bin");
  {
    ShardWriter w(path, 50257);
    std::vector<int32_t> t = {1, 2, 3};
    w.append(t.data(), t.size());
  }  // destroyed without finish(): an interrupted run
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("ShardWriter refuses tokens outside the vocabulary", "[shard][errors]") {
  TempDir dir("shard_vocab");
  ShardWriter w(dir.file("x.bin"), 1000);
  std::vector<int32_t> bad = {5, 1000};
  CHECK_THROWS_WITH(w.append(bad.data(), 2),
                    Catch::Contains("token 1000") && Catch::Contains("[0, 1000)"));
  std::vector<int32_t> negative = {-1};
  CHECK_THROWS_AS(w.append(negative.data(), 1), DataError);
  CHECK(w.size() == 0);
}

TEST_CASE("corrupt shards are clear errors naming the file", "[shard][errors]") {
  TempDir dir("shard_corrupt");
  const auto tokens = random_tokens(100, 50257, 7);
  const std::string p = dir.file("bad.bin");
  auto message_of = [&] {
    try {
      MappedShard s(p);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SECTION("wrong magic") {
    write_raw_shard(p, {12345, 1, 100}, tokens, 2);
    CHECK_THAT(message_of(), Catch::Contains(p) && Catch::Contains("magic number 12345"));
  }
  SECTION("wrong version") {
    write_raw_shard(p, {20240520, 3, 100}, tokens, 2);
    CHECK_THAT(message_of(), Catch::Contains("version 3") && Catch::Contains("expected version 1"));
    write_raw_shard(p, {20240801, 1, 100}, tokens, 4);
    CHECK_THAT(message_of(), Catch::Contains("expected version 7"));
  }
  SECTION("truncated payload") {
    write_raw_shard(p, {20240520, 1, 101}, tokens, 2);
    CHECK_THAT(message_of(), Catch::Contains("truncated") && Catch::Contains("101 tokens"));
  }
  SECTION("truncated header") {
    std::ofstream(p, std::ios::binary) << "short";
    CHECK_THAT(message_of(), Catch::Contains("truncated") && Catch::Contains("1024-byte"));
  }
  SECTION("bytes after the declared tokens") {
    write_raw_shard(p, {20240520, 1, 99}, tokens, 2);
    CHECK_THAT(message_of(), Catch::Contains("2 bytes after the 99 tokens"));
  }
  SECTION("negative count") {
    write_raw_shard(p, {20240520, 1, -5}, tokens, 2);
    CHECK_THAT(message_of(), Catch::Contains("negative token count"));
  }
  SECTION("missing file") {
    CHECK_THAT(message_of(), Catch::Contains("cannot open shard") && Catch::Contains(p));
  }
}
