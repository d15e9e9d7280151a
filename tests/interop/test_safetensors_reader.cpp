// The safetensors reader and writer (attnlab/interop/safetensors.h): a file written here byte
// by byte reads back with its values and metadata; every class of malformed file is refused
// with a SafetensorsError naming the file and, where one is at fault, the tensor; what the
// writer writes has the published layout (header padded with spaces to 8 bytes) and reads back
// bit-exact in every dtype.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "attnlab/interop/safetensors.h"
#include "safetensors_bytes.h"

using namespace attnlab;
using namespace attnlab::test;
using Catch::Contains;

namespace {

std::string f32_bytes(std::initializer_list<float> values) {
  std::string out;
  for (const float v : values) out.append(reinterpret_cast<const char*>(&v), 4);
  return out;
}

// The error reading the file of `bytes`; "(accepted)" when there is none.
std::string raw_error(const std::string& name, const std::string& bytes) {
  const auto path = write_bytes(name, bytes);
  try {
    interop::read_safetensors(path);
  } catch (const interop::SafetensorsError& e) {
    CHECK_THAT(e.what(), Contains(path.string()));
    return e.what();
  }
  return "(accepted)";
}

std::string reader_error(const std::string& name, const std::string& header,
                         const std::string& data) {
  return raw_error(name, u64_le(header.size()) + header + data);
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

}  // namespace

TEST_CASE("a safetensors file written byte by byte reads back", "[interop][safetensors]") {
  // bf16 1.0 = 0x3F80, 3.0 = 0x4040 (little-endian bytes)
  const std::string data = f32_bytes({1.5f, -2.25f}) + std::string("\x80\x3f\x40\x40", 4);
  const auto path = write_safetensors_bytes("valid.safetensors",
                                            "{" + entry("b", "BF16", "[1,2]", 8, 12) + "," +
                                                entry("a", "F32", "[2]", 0, 8) +
                                                ",\"__metadata__\":{\"format\":\"pt\"}}",
                                            data);
  const auto file = interop::read_safetensors(path);
  REQUIRE(file.tensors.size() == 2);
  CHECK(file.tensors[0].first == "a");  // data order
  CHECK(file.tensors[0].second.scalar_type() == torch::kFloat32);
  CHECK(file.tensors[0].second[1].item<float>() == -2.25f);
  CHECK(file.tensors[1].second.sizes() == torch::IntArrayRef({1, 2}));
  CHECK(file.tensors[1].second.to(torch::kFloat32)[0][1].item<float>() == 3.0f);
  CHECK(file.metadata.at("format") == "pt");
}

TEST_CASE("malformed safetensors files are refused naming the file and the tensor",
          "[interop][safetensors]") {
  const std::string w = entry("w", "F32", "[2]", 0, 8), d8 = f32_bytes({0.5f, 0.25f});
  CHECK(reader_error("ok.st", "{" + w + "}", d8) == "(accepted)");
  // the header length
  CHECK_THAT(raw_error("short.st", "abc"), Contains("fewer than the 8-byte header length"));
  CHECK_THAT(raw_error("beyond.st", u64_le(1000) + "{}"),
             Contains("header length 1000 runs past the end of the file (10 bytes)"));
  CHECK_THAT(raw_error("absurd.st", u64_le(uint64_t(1) << 40) + "{}"), Contains("is absurd"));
  // the header text
  CHECK_THAT(reader_error("json.st", "{\"w\":", ""), Contains("not valid UTF-8 JSON"));
  CHECK_THAT(reader_error("utf8.st", "{" + entry("w\xff\xfe", "F32", "[2]", 0, 8) + "}", d8),
             Contains("not valid UTF-8 JSON"));
  CHECK_THAT(reader_error("overflow.st", "{" + entry("w", "F32", "[1e999]", 0, 8) + "}", d8),
             Contains("not valid UTF-8 JSON"));  // found by fuzz_safetensors_header
  CHECK_THAT(reader_error("array.st", "[1,2]", ""), Contains("not an object"));
  CHECK_THAT(reader_error("dup.st", "{" + w + "," + entry("w", "F32", "[2]", 8, 16) + "}", d8 + d8),
             Contains("tensor 'w': listed twice"));
  CHECK_THAT(reader_error("dup_key.st",
                          "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[2],"
                          "\"data_offsets\":[0,8]}}",
                          d8),
             Contains("tensor 'w': key 'dtype' repeated"));
  // one entry
  CHECK_THAT(reader_error("dtype.st", "{" + entry("w", "F8_E9", "[2]", 0, 8) + "}", d8),
             Contains("tensor 'w': unknown dtype \"F8_E9\""));
  CHECK_THAT(reader_error("size.st", "{" + entry("w", "F32", "[3]", 0, 8) + "}", d8),
             Contains("tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets [0,8] hold 8"));
  CHECK_THAT(reader_error("negative.st", "{" + entry("w", "F32", "[-2]", 0, 8) + "}", d8),
             Contains("tensor 'w': shape entry -2 is not a non-negative integer"));
  CHECK_THAT(reader_error("fraction.st", "{" + entry("w", "F32", "[2.0]", 0, 8) + "}", d8),
             Contains("tensor 'w': shape entry 2.0 is not a non-negative integer"));
  CHECK_THAT(reader_error("missing.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", d8),
             Contains("tensor 'w': missing \"data_offsets\""));
  CHECK_THAT(reader_error("extra.st",
                          "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],"
                          "\"scale\":1}}",
                          d8),
             Contains("tensor 'w': unexpected key 'scale'"));
  CHECK_THAT(reader_error("backwards.st", "{" + entry("w", "F32", "[0]", 8, 0) + "}", d8),
             Contains("tensor 'w': data_offsets [8,0] run backwards"));
  CHECK_THAT(reader_error("metadata.st", "{" + w + ",\"__metadata__\":{\"n\":1}}", d8),
             Contains("\"__metadata__\" value of 'n' is not a string"));
  // the offsets together
  CHECK_THAT(reader_error("range.st", "{" + entry("w", "F32", "[4]", 0, 16) + "}", d8),
             Contains("tensor 'w': data_offsets [0, 16] run past the data area of 8 bytes"));
  CHECK_THAT(reader_error("overlap.st", "{" + w + "," + entry("v", "F32", "[2]", 4, 12) + "}",
                          d8 + d8.substr(4)),
             Contains("tensor 'v': data_offsets [4, 12] overlap tensor 'w' [0, 8]"));
  CHECK_THAT(reader_error(
                 "gap.st",
                 "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("v", "F32", "[1]", 8, 12) + "}",
                 d8 + d8.substr(4)),
             Contains("tensor 'v': data_offsets [8, 12] leave a gap of 4 bytes before it"));
  CHECK_THAT(reader_error("trailing.st", "{" + entry("w", "F32", "[1]", 0, 4) + "}", d8),
             Contains("4 bytes after the last tensor's data"));
}

TEST_CASE("the writer pads the header to 8 bytes and reads back bit-exact in every dtype",
          "[interop][safetensors]") {
  torch::manual_seed(7);
  interop::NamedTensors tensors;
  for (const auto dtype : {torch::kFloat64, torch::kFloat32, torch::kFloat16, torch::kBFloat16}) {
    tensors.emplace_back("t." + interop::safetensors_dtype(dtype),
                         torch::randn({3, 5}, torch::kFloat64).to(dtype));
  }
  tensors.emplace_back("ids", torch::randint(1000, {7}, torch::kInt64));
  tensors.emplace_back("scalar", torch::randn({}, torch::kFloat32));
  const auto path = write_bytes("written.st", "");
  interop::write_safetensors(path, tensors, {{"format", "pt"}});
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  CHECK(bytes[8] == '{');
  const auto close = bytes.rfind('}', 8 + n);
  CHECK(bytes.substr(close + 1, 8 + n - close - 1) == std::string(8 + n - close - 1, ' '));
  const auto file = interop::read_safetensors(path);
  REQUIRE(file.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    INFO(tensors[i].first);
    CHECK(file.tensors[i].first == tensors[i].first);
    CHECK(file.tensors[i].second.scalar_type() == tensors[i].second.scalar_type());
    CHECK(torch::equal(file.tensors[i].second, tensors[i].second));
  }
  CHECK(file.metadata.at("format") == "pt");
}
