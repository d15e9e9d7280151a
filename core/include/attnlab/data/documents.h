// Documents for `data prepare`: JSONL (.jsonl, .jsonl.gz, .jsonl.zst; one JSON object per line,
// the text in a configurable field) or plain text (.txt: the whole file is one document).
//
// Reading is split in two so JSON parsing can run on worker threads: DocumentReader yields raw
// records (a line, or a file) in order; parse_record() turns one into text or a RecordError
// naming file:line, which the caller reports (stop) or counts (skip).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attnlab/data/error.h"

namespace attnlab::data {

struct Record {
  std::string raw;  // a JSONL line, or a whole text file
  bool is_json = true;
  std::string source;  // the input file
  uint64_t line = 0;   // 1-based line in the file (1 for text files)
};

// A malformed record: what() is "FILE:LINE: problem".
class RecordError : public DataError {
  using DataError::DataError;
};

// The document text of `record` (the JSON field `text_field`, or the raw text).
std::string parse_record(const Record& record, const std::string& text_field);

class DocumentReader {
 public:
  // Files are read in the order given. An unsupported extension or unreadable file is a
  // DataError naming it (checked up front, before anything is read).
  explicit DocumentReader(std::vector<std::string> files);
  ~DocumentReader();

  bool next(Record& record);        // false after the last record; DataError on corrupt compression
  uint64_t bytes_consumed() const;  // input bytes (compressed size) read so far
  uint64_t bytes_total() const { return bytes_total_; }

  class Source;  // one open input file (plain, gzip or zstd)

 private:
  bool open_next_file();

  std::vector<std::string> files_;
  size_t next_file_ = 0;
  std::unique_ptr<Source> source_;
  uint64_t finished_bytes_ = 0;  // sizes of the files already read to the end
  uint64_t bytes_total_ = 0;
};

}  // namespace attnlab::data
