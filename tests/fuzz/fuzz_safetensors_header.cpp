// libFuzzer target: the safetensors header reader (core/interop/safetensors_header.cpp, no
// LibTorch). The input is a whole file. Properties: the reader throws nothing but
// SafetensorsError, whose message starts with the file's name; what it accepts is consistent:
// its tensors tile the data area in order, each one's bytes are its element count times its
// dtype size, the data ends where the file does, and the header written back by
// write_safetensors_header() reads again to the same entries and metadata.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "attnlab/interop/safetensors_header.h"
#include "fuzz_util.h"

using namespace attnlab;

namespace {

interop::SafetensorsHeader read(const std::string& name, const std::string& file) {
  std::istringstream in(file);
  return interop::read_safetensors_header(name, in, file.size());
}

void check_consistent(const interop::SafetensorsHeader& h, uint64_t file_size) {
  uint64_t at = 0;
  for (const auto& t : h.tensors) {
    fuzz::require(t.begin == at, "accepted tensors tile the data area in order");
    uint64_t bytes = interop::dtype_bytes(t.dtype);
    fuzz::require(bytes > 0, "accepted dtypes are known");
    for (const auto d : t.shape) bytes *= uint64_t(d);
    fuzz::require(t.end - t.begin == bytes, "accepted sizes match shape x dtype");
    at = t.end;
  }
  fuzz::require(h.data_start + at == file_size, "accepted data ends where the file does");
}

bool same_entries(const interop::SafetensorsHeader& a, const interop::SafetensorsHeader& b) {
  if (a.tensors.size() != b.tensors.size() || a.metadata != b.metadata) return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const auto &x = a.tensors[i], &y = b.tensors[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || x.begin != y.begin ||
        x.end != y.end) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file(reinterpret_cast<const char*>(data), size);
  interop::SafetensorsHeader header;
  try {
    header = read("fuzz.safetensors", file);
  } catch (const interop::SafetensorsError& e) {
    fuzz::require(std::string(e.what()).rfind("fuzz.safetensors: ", 0) == 0,
                  "the error names the file first");
    return 0;
  }
  check_consistent(header, size);
  const auto rewritten = interop::write_safetensors_header(header.tensors, header.metadata) +
                         file.substr(header.data_start);
  fuzz::require(same_entries(header, read("rewritten.safetensors", rewritten)),
                "a rewritten header reads back to the same entries");
  return 0;
}
