// libFuzzer target: the document reader of `data prepare` (core/data/documents.cpp).
// Input: one byte choosing the file type (.jsonl, .jsonl.gz, .jsonl.zst, .txt), then the file's
// bytes (compressed or not: the fuzzer also feeds the decompressors damaged streams).
// Properties: bad input is a DataError (RecordError for a bad line), nothing else; a .jsonl
// file and the same bytes gzip-compressed by zlib give the same records.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "attnlab/data/documents.h"
#include "fuzz_util.h"

using namespace attnlab;

namespace {

const char* const kNames[] = {"docs.jsonl", "docs.jsonl.gz", "docs.jsonl.zst", "docs.txt"};

// Every record of `path` (raw text, line) with its parsed text or error; DataError propagates.
std::vector<std::string> read_all(const std::string& path) {
  data::DocumentReader reader({path});
  std::vector<std::string> out;
  data::Record record;
  while (reader.next(record)) {
    out.push_back(std::to_string(record.line) + ":" + record.raw);
    try {
      out.push_back(data::parse_record(record, "text"));
    } catch (const data::RecordError&) {
      out.push_back("<record error>");
    }
  }
  return out;
}

std::string write_gzip(const std::string& relative, const uint8_t* data, size_t size) {
  const auto path = (fuzz::scratch_dir() / relative).string();
  gzFile gz = gzopen(path.c_str(), "wb");
  fuzz::require(gz != nullptr && (size == 0 || gzwrite(gz, data, static_cast<unsigned>(size)) > 0) &&
                    gzclose(gz) == Z_OK,
                "zlib writes the comparison file");
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int format = data[0] % 4;
  const auto path = fuzz::write_scratch(kNames[format], data + 1, size - 1).string();
  std::vector<std::string> records;
  try {
    records = read_all(path);
  } catch (const data::DataError&) {
    return 0;  // rejected with the documented error: fine
  }
  if (format == 0) {
    const auto gz_records = read_all(write_gzip("same.jsonl.gz", data + 1, size - 1));
    fuzz::require(gz_records == records, "a .jsonl file and its gzip give the same records");
  }
  return 0;
}
