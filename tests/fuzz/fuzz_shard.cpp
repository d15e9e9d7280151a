// libFuzzer target: the llm.c shard reader (core/data/shard.cpp). The input is written as a
// shard file and mapped. Properties: a bad file is a DataError, nothing else; an accepted
// file's header and size agree, and at() and copy() return the tokens a naive little-endian
// reading of the input bytes gives.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "attnlab/data/shard.h"
#include "fuzz_util.h"

using namespace attnlab;
using attnlab::fuzz::require;

namespace {

uint32_t naive_token(const uint8_t* data, size_t offset, int width) {
  uint32_t v = 0;
  for (int b = width - 1; b >= 0; --b) v = (v << 8) | data[offset + b];
  return v;
}

void check_tokens(const data::MappedShard& shard, const uint8_t* data, size_t size) {
  const int width = shard.token_bytes();
  require(width == 2 || width == 4, "token width is 2 or 4");
  require(data::kShardHeaderBytes + shard.size() * width == size, "header count matches size");
  std::vector<int32_t> copied(shard.size());
  shard.copy(0, shard.size(), copied.data());
  for (uint64_t i = 0; i < shard.size(); ++i) {
    const uint32_t expected = naive_token(data, data::kShardHeaderBytes + i * width, width);
    require(shard.at(i) == expected, "at(i) reads token i little-endian");
    require(static_cast<uint32_t>(copied[i]) == expected, "copy() agrees with at()");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_scratch("shard.bin", data, size);
  try {
    const data::MappedShard shard(path.string());
    check_tokens(shard, data, size);
  } catch (const data::DataError&) {
    return 0;  // rejected with the documented error: fine
  }
  return 0;
}
