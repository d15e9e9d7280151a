// SHA-256 (FIPS 180-4) of bytes and files, as lowercase hex. Used to record which plugin
// binary and which checkpoint a run used. No LibTorch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace attnlab::util {

// Incremental hashing: update() any number of times, then hex_digest() once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::string hex_digest();  // finalises; further updates are an error (std::logic_error)

 private:
  void compress(const uint8_t* block);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

std::string sha256_hex(const void* data, size_t size);
// Throws std::runtime_error naming the file if it cannot be opened or read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace attnlab::util
