// SHA-256: the FIPS 180-4 test vectors, block-boundary lengths against coreutils' sha256sum,
// and incremental updates matching one-shot hashing.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "attnlab/util/sha256.h"

using attnlab::util::Sha256;
using attnlab::util::sha256_file;
using attnlab::util::sha256_hex;

TEST_CASE("SHA-256 of the FIPS 180-4 vectors", "[sha256]") {
  CHECK(sha256_hex("", 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(two_blocks.data(), two_blocks.size()) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 million;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) million.update(chunk.data(), chunk.size());
  CHECK(million.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK_THROWS_AS(million.update("x", 1), std::logic_error);
}

TEST_CASE("sha256_file agrees with sha256sum at block-boundary sizes", "[sha256]") {
  std::mt19937 rng(std::random_device{}());
  const auto dir =
      std::filesystem::temp_directory_path() / ("attnlab_sha_" + std::to_string(rng()));
  std::filesystem::create_directories(dir);
  for (size_t size : {1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 100000u}) {
    const auto path = dir / ("f" + std::to_string(size));
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
    std::string expected(64, '\0');
    FILE* pipe = popen(("sha256sum " + path.string()).c_str(), "r");
    REQUIRE(pipe);
    REQUIRE(fread(expected.data(), 1, 64, pipe) == 64);
    pclose(pipe);
    INFO("size " << size);
    CHECK(sha256_file(path) == expected);
    Sha256 pieces;  // the same bytes fed in uneven pieces
    for (size_t at = 0; at < size; at += 7)
      pieces.update(bytes.data() + at, std::min<size_t>(7, size - at));
    CHECK(pieces.hex_digest() == expected);
  }
  CHECK_THROWS_WITH(sha256_file(dir / "missing"),
                    Catch::Contains("cannot open") && Catch::Contains("missing"));
  std::filesystem::remove_all(dir);
}
