// Helpers shared by the data tests: temporary folders, naive shard files written byte by byte
// (independent of ShardWriter), the shared data paths.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace attnlab::test {

inline std::string shared_path(const std::string& rel) {
  return std::string(ATTNLAB_SHARED_DIR) + "/" + rel;
}
inline const std::string kReferenceShard =
    shared_path("data/fineweb/reference/fineweb-sample-300.gpt2.bin");

// A fresh empty folder under the build tree, removed when the object dies.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) {
    path = std::filesystem::path(ATTNLAB_BINARY_DIR) / "test_tmp" /
           (name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Writes a shard by hand: header ints then tokens as little-endian `bytes`-wide integers.
inline void write_raw_shard(const std::string& path, std::vector<int32_t> header,
                            const std::vector<uint32_t>& tokens, int bytes) {
  header.resize(256, 0);
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(header.data()), 1024);
  for (uint32_t t : tokens) {
    unsigned char b[4] = {uint8_t(t), uint8_t(t >> 8), uint8_t(t >> 16), uint8_t(t >> 24)};
    f.write(reinterpret_cast<const char*>(b), bytes);
  }
}

// Reads every token of a uint16 shard with plain ifstream reads (the naive reference).
inline std::vector<uint32_t> read_raw_u16_shard(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  int32_t header[256];
  f.read(reinterpret_cast<char*>(header), sizeof(header));
  std::vector<uint32_t> out(header[2]);
  for (auto& t : out) {
    unsigned char b[2];
    f.read(reinterpret_cast<char*>(b), 2);
    t = b[0] | (uint32_t(b[1]) << 8);
  }
  return out;
}

inline std::vector<uint32_t> random_tokens(size_t n, uint32_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> v(n);
  for (auto& t : v) t = uint32_t(rng() % vocab);
  return v;
}

}  // namespace attnlab::test
