// Reading JSONL (plain, gzip, zstd) and text files record by record; see documents.h.
#include "attnlab/data/documents.h"

#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_set>

namespace attnlab::data {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

enum class Format { Jsonl, JsonlGz, JsonlZst, Text };

Format format_of(const std::string& path) {
  if (ends_with(path, ".jsonl")) return Format::Jsonl;
  if (ends_with(path, ".jsonl.gz")) return Format::JsonlGz;
  if (ends_with(path, ".jsonl.zst")) return Format::JsonlZst;
  if (ends_with(path, ".txt")) return Format::Text;
  throw DataError("input '" + path +
                  "': unsupported file type; expected .jsonl, .jsonl.gz, .jsonl.zst or .txt");
}

// `raw` parsed as JSON; a key repeated within one object is a RecordError naming it (nlohmann
// keeps the last value, other readers the first, so such a line has no single meaning).
nlohmann::json parse_json_line(const std::string& raw, const std::string& where) {
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::unordered_set<std::string>> open;  // the keys of each enclosing object
  return nlohmann::json::parse(raw, [&](int, Event event, nlohmann::json& parsed) {
    if (event == Event::object_start) open.emplace_back();
    if (event == Event::object_end) open.pop_back();
    if (event == Event::key && !open.back().insert(parsed.get<std::string>()).second)
      throw RecordError(where + ": duplicate key " +
                        parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                        " in one JSON object (readers disagree on which value counts; keep one)");
    return true;
  });
}

// A handle released by `release` (gzclose, fclose, ZSTD_freeDStream) when its owner goes.
template <auto release>
struct Release {
  template <class T>
  void operator()(T* handle) const {
    release(handle);
  }
};
template <class T, auto release>
using Owned = std::unique_ptr<T, Release<release>>;

}  // namespace

// One input file: decompressed bytes on read(), compressed bytes counted for progress.
class DocumentReader::Source {
 public:
  // Every handle is owned by a member as soon as it is acquired, so a throw below (a
  // mislabelled file) releases what was opened before it.
  Source(std::string path, Format format) : path_(std::move(path)), format_(format) {
    if (format_ == Format::JsonlGz) {
      gz_.reset(gzopen(path_.c_str(), "rb"));
      if (!gz_) throw DataError("cannot open '" + path_ + "': " + std::strerror(errno));
      gzbuffer(gz_.get(), 1 << 20);
      // zlib reads a file without a gzip header as plain bytes; such a file is mislabelled.
      if (gzdirect(gz_.get())) throw not_compressed("gzip", "1f 8b", "gzip");
    } else {
      file_.reset(std::fopen(path_.c_str(), "rb"));
      if (!file_) throw DataError("cannot open '" + path_ + "': " + std::strerror(errno));
      if (format_ == Format::JsonlZst) {
        if (!starts_with_zstd_frame()) throw not_compressed("zstd", "28 b5 2f fd", "zstd");
        zstd_.reset(ZSTD_createDStream());
        if (!zstd_)
          throw DataError("'" + path_ + "': cannot create a zstd decoder (out of memory)");
        zstd_in_.resize(ZSTD_DStreamInSize());
      }
    }
  }
  const std::string& path() const { return path_; }
  Format format() const { return format_; }
  uint64_t consumed() const { return consumed_; }

  // Up to n decompressed bytes; 0 at the end of the file.
  size_t read(char* out, size_t n) {
    if (gz_) {
      const int got = gzread(gz_.get(), out, unsigned(n));
      int errnum = Z_OK;
      const char* message = gzerror(gz_.get(), &errnum);
      if (got < 0)
        throw DataError("'" + path_ + "': corrupt gzip data (" + message +
                        "; re-download or re-compress it)");
      // zlib ends a stream cut short as if it were complete and only records Z_BUF_ERROR.
      if (got == 0 && errnum == Z_BUF_ERROR)
        throw DataError("'" + path_ +
                        "': truncated gzip data (the file ends inside the compressed stream; "
                        "re-download or re-compress it)");
      consumed_ = uint64_t(gzoffset(gz_.get()));
      return size_t(got);
    }
    if (!zstd_) {
      const size_t got = std::fread(out, 1, n, file_.get());
      if (got < n && std::ferror(file_.get()))
        throw DataError("cannot read '" + path_ + "': " + std::strerror(errno));
      consumed_ += got;
      return got;
    }
    ZSTD_outBuffer ob{out, n, 0};
    while (ob.pos == 0) {
      if (in_.pos == in_.size) {
        const size_t got = std::fread(zstd_in_.data(), 1, zstd_in_.size(), file_.get());
        consumed_ += got;
        if (got == 0) {
          if (frame_open_)
            throw DataError("'" + path_ + "': truncated zstd data (the file ends inside a frame)");
          return 0;
        }
        in_ = ZSTD_inBuffer{zstd_in_.data(), got, 0};
      }
      const size_t rc = ZSTD_decompressStream(zstd_.get(), &ob, &in_);
      if (ZSTD_isError(rc))
        throw DataError("'" + path_ + "': corrupt zstd data (" + ZSTD_getErrorName(rc) + ")");
      frame_open_ = rc != 0;
    }
    return ob.pos;
  }

  // The next line without its '\n' (and '\r'); false at the end of the file.
  bool getline(std::string& line) {
    line.clear();
    while (true) {
      if (pos_ == buf_len_) {
        buf_len_ = read(buf_, sizeof(buf_));
        pos_ = 0;
        if (buf_len_ == 0) {
          if (line.empty()) return false;
          break;  // last line without a newline
        }
      }
      const char* start = buf_ + pos_;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', buf_len_ - pos_));
      if (!nl) {
        line.append(start, buf_len_ - pos_);
        pos_ = buf_len_;
        continue;
      }
      line.append(start, nl - start);
      pos_ += (nl - start) + 1;
      break;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ++lineno_;
    return true;
  }
  uint64_t lineno() const { return lineno_; }

 private:
  DataError not_compressed(const std::string& format, const std::string& magic,
                           const std::string& tool) const {
    return DataError("'" + path_ + "' is not a " + format + " file (it does not start with " +
                     magic + "); compress it with " + tool +
                     ", or give it the extension of what it holds (.jsonl, .txt)");
  }

  // A zstd frame or skippable frame begins the file; the read position is left at the start.
  bool starts_with_zstd_frame() {
    unsigned char b[4] = {0, 0, 0, 0};
    const size_t got = std::fread(b, 1, 4, file_.get());
    std::rewind(file_.get());
    const uint32_t magic = b[0] | b[1] << 8 | b[2] << 16 | uint32_t(b[3]) << 24;
    return got == 4 && (magic == ZSTD_MAGICNUMBER ||
                        (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START);
  }

  std::string path_;
  Format format_;
  Owned<gzFile_s, gzclose> gz_;
  Owned<std::FILE, std::fclose> file_;
  Owned<ZSTD_DStream, ZSTD_freeDStream> zstd_;
  std::vector<char> zstd_in_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool frame_open_ = false;
  uint64_t consumed_ = 0;
  char buf_[1 << 16];
  size_t buf_len_ = 0, pos_ = 0;
  uint64_t lineno_ = 0;
};

DocumentReader::DocumentReader(std::vector<std::string> files) : files_(std::move(files)) {
  if (files_.empty()) throw DataError("no input files given");
  for (const auto& f : files_) {
    if (std::filesystem::is_directory(f))
      throw DataError("input '" + f + "' is a directory; give the files inside it (e.g. '" + f +
                      "/*.jsonl')");
    format_of(f);
    std::error_code ec;
    const auto size = std::filesystem::file_size(f, ec);
    if (ec) throw DataError("cannot read input '" + f + "': " + ec.message());
    std::FILE* probe = std::fopen(f.c_str(), "rb");
    if (!probe) throw DataError("cannot read input '" + f + "': " + std::strerror(errno));
    std::fclose(probe);
    bytes_total_ += size;
  }
}

DocumentReader::~DocumentReader() = default;

uint64_t DocumentReader::bytes_consumed() const {
  return finished_bytes_ + (source_ ? source_->consumed() : 0);
}

bool DocumentReader::open_next_file() {
  if (source_) finished_bytes_ += std::filesystem::file_size(source_->path());
  source_.reset();
  if (next_file_ == files_.size()) return false;
  const std::string& path = files_[next_file_++];
  source_ = std::make_unique<Source>(path, format_of(path));
  return true;
}

bool DocumentReader::next(Record& record) {
  while (true) {
    if (!source_ && !open_next_file()) return false;
    record.source = source_->path();
    if (source_->format() == Format::Text) {
      record.is_json = false;
      record.line = 1;
      record.raw.clear();
      char chunk[1 << 16];
      for (size_t got; (got = source_->read(chunk, sizeof(chunk))) > 0;)
        record.raw.append(chunk, got);
      open_next_file();
      return true;
    }
    record.is_json = true;
    if (!source_->getline(record.raw)) {
      open_next_file();
      continue;
    }
    record.line = source_->lineno();
    if (record.raw.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    return true;
  }
}

std::string parse_record(const Record& record, const std::string& text_field) {
  if (!record.is_json) return record.raw;
  const std::string where = record.source + ":" + std::to_string(record.line);
  nlohmann::json j;
  try {
    j = parse_json_line(record.raw, where);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    throw RecordError(where + ": malformed JSON line (" + what.substr(what.find(']') + 2) + ")");
  }
  if (!j.is_object() || !j.contains(text_field) || !j[text_field].is_string())
    throw RecordError(where + ": no string field \"" + text_field +
                      "\" (choose the field with --text-field)");
  return j[text_field].get<std::string>();
}

}  // namespace attnlab::data
