// The header of a safetensors file (the Hugging Face layout): an 8-byte little-endian u64 N,
// N bytes of UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, optional
// "__metadata__": {string: string}}, then the raw little-endian data, offsets relative to its
// start. Reading checks everything before a byte of data is used; writing pads the JSON with
// spaces to a multiple of 8 bytes as the Hugging Face writer does. No LibTorch: the fuzz target
// (tests/fuzz/fuzz_safetensors_header.cpp) links this alone.
#pragma once
#include <cstdint>
#include <istream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnlab::interop {

// A file that is not a valid safetensors file; the message names the file and, where one is at
// fault, the tensor.
class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Headers above this size are refused as absurd (the Hugging Face reader's limit, 100 MB).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Bytes per element of a safetensors dtype name: F64, F32, F16, BF16, I64, I32, I16, I8, U8,
// BOOL; 0 for any other name.
uint64_t dtype_bytes(const std::string& dtype);

struct TensorEntry {
  std::string name;
  std::string dtype;            // a name dtype_bytes() knows
  std::vector<int64_t> shape;   // entries >= 0; {} is a scalar
  uint64_t begin = 0, end = 0;  // byte range in the data area, end - begin = numel * dtype size
};

struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;             // ordered by begin: they tile the data area
  std::map<std::string, std::string> metadata;  // "__metadata__"
  uint64_t data_start = 0;                      // 8 + N: where the data area starts in the file
};

// Reads and checks the header of the file `in` of `file_size` bytes (`file` names it in
// errors). Throws SafetensorsError when: the file is shorter than 8 bytes; N exceeds
// kMaxHeaderBytes or the file; the header is not UTF-8 JSON or not an object; a key is repeated
// (at any level); an entry lacks dtype, shape or data_offsets, has another key, or a value of
// the wrong type; a dtype is unknown; a shape entry is negative or not an integer; the element
// count times the dtype size differs from end - begin; offsets run past the data area or
// backwards; two tensors overlap; the tensors leave a gap or do not end where the file does;
// __metadata__ is not an object of strings.
SafetensorsHeader read_safetensors_header(const std::string& file, std::istream& in,
                                          uint64_t file_size);

// The first 8 + N bytes of a file holding `tensors` (their offsets as given) and `metadata`.
std::string write_safetensors_header(const std::vector<TensorEntry>& tensors,
                                     const std::map<std::string, std::string>& metadata);

}  // namespace attnlab::interop
