// Safetensors files written byte by byte for the reader tests: the 8-byte little-endian header
// length, the header text exactly as given (no padding), then the data bytes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace attnlab::test {

inline std::string u64_le(uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(char((n >> (8 * i)) & 0xff));
  return out;
}

// Writes `bytes` to <temp>/attnlab_interop_test/<name> and returns the path.
inline std::filesystem::path write_bytes(const std::string& name, const std::string& bytes) {
  const auto dir = std::filesystem::temp_directory_path() / "attnlab_interop_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

inline std::filesystem::path write_safetensors_bytes(const std::string& name,
                                                     const std::string& header,
                                                     const std::string& data) {
  return write_bytes(name, u64_le(header.size()) + header + data);
}

}  // namespace attnlab::test
