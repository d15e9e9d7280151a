// Reading (mmap) and writing (temp file + rename) of llm.c token shards; see shard.h.
#include "attnlab/data/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "llm.c shards are little-endian; a big-endian host needs byte swapping here");

namespace attnlab::data {

namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

int shard_token_bytes(uint64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

MappedShard::MappedShard(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw DataError("cannot open shard '" + path + "': " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string err = errno_text();
    ::close(fd);
    throw DataError("cannot stat shard '" + path + "': " + err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw DataError("shard path '" + path +
                    "' is a directory; give the .bin shard files inside it (e.g. '" + path +
                    "/*.bin', a glob)");
  }
  const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
  if (file_bytes < kShardHeaderBytes) {
    ::close(fd);
    throw DataError("shard '" + path + "' is truncated: " + std::to_string(file_bytes) +
                    " bytes, shorter than the 1024-byte llm.c header (re-create it with "
                    "'attnlab data prepare')");
  }
  void* map = ::mmap(nullptr, file_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  std::string map_err = errno_text();
  ::close(fd);
  if (map == MAP_FAILED) throw DataError("cannot mmap shard '" + path + "': " + map_err);
  map_ = static_cast<const unsigned char*>(map);
  map_bytes_ = file_bytes;

  int32_t header[3];
  std::memcpy(header, map_, sizeof(header));
  magic_ = header[0];
  version_ = header[1];
  const auto fail = [&](const std::string& msg) {
    ::munmap(const_cast<unsigned char*>(map_), map_bytes_);
    map_ = nullptr;
    throw DataError("shard '" + path + "': " + msg);
  };
  if (magic_ == kShardMagicU16) {
    if (version_ != kShardVersionU16)
      fail("version " + std::to_string(version_) + " with magic 20240520; expected version 1");
    token_bytes_ = 2;
  } else if (magic_ == kShardMagicU32) {
    if (version_ != kShardVersionU32)
      fail("version " + std::to_string(version_) + " with magic 20240801; expected version 7");
    token_bytes_ = 4;
  } else {
    fail("magic number " + std::to_string(magic_) +
         " is not an llm.c token shard's (expected 20240520 or 20240801)");
  }
  if (header[2] < 0) fail("negative token count " + std::to_string(header[2]) + " in the header");
  n_tokens_ = static_cast<uint64_t>(header[2]);
  const uint64_t expected = kShardHeaderBytes + n_tokens_ * token_bytes_;
  if (file_bytes < expected) {
    fail("truncated: the header promises " + std::to_string(n_tokens_) + " tokens (" +
         std::to_string(expected) + " bytes) but the file has " + std::to_string(file_bytes) +
         " bytes (re-create or re-download it)");
  }
  if (file_bytes > expected) {
    fail("has " + std::to_string(file_bytes - expected) + " bytes after the " +
         std::to_string(n_tokens_) + " tokens its header declares (corrupt or wrong header)");
  }
}

MappedShard::~MappedShard() {
  if (map_) ::munmap(const_cast<unsigned char*>(map_), map_bytes_);
}

MappedShard::MappedShard(MappedShard&& other) noexcept
    : path_(std::move(other.path_)),
      map_(other.map_),
      map_bytes_(other.map_bytes_),
      n_tokens_(other.n_tokens_),
      token_bytes_(other.token_bytes_),
      magic_(other.magic_),
      version_(other.version_) {
  other.map_ = nullptr;
}

uint32_t MappedShard::at(uint64_t i) const {
  assert(i < n_tokens_);
  const unsigned char* p = map_ + kShardHeaderBytes + i * token_bytes_;
  if (token_bytes_ == 2) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void MappedShard::copy(uint64_t begin, uint64_t count, int32_t* out) const {
  assert(begin + count <= n_tokens_);
  const unsigned char* p = map_ + kShardHeaderBytes + begin * token_bytes_;
  if (token_bytes_ == 2) {
    for (uint64_t i = 0; i < count; ++i) {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      out[i] = v;
    }
  } else {
    for (uint64_t i = 0; i < count; ++i) {
      uint32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = static_cast<int32_t>(v);
    }
  }
}

ShardWriter::ShardWriter(std::string path, uint64_t vocab_size)
    : path_(std::move(path)),
      tmp_path_(path_ + ".tmp"),
      vocab_size_(vocab_size),
      token_bytes_(shard_token_bytes(vocab_size)) {
  if (vocab_size == 0 || vocab_size > (uint64_t{1} << 32))
    throw DataError("shard '" + path_ + "': vocabulary size " + std::to_string(vocab_size) +
                    " cannot be stored (expected 1 .. 2^32)");
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  if (!file_) throw DataError("cannot create '" + tmp_path_ + "': " + errno_text());
  std::vector<int32_t> header(kShardHeaderInts, 0);  // real header written by finish()
  if (std::fwrite(header.data(), sizeof(int32_t), header.size(), file_) != header.size())
    throw DataError("cannot write '" + tmp_path_ + "': " + errno_text());
}

ShardWriter::~ShardWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(tmp_path_.c_str());
  }
}

void ShardWriter::append(const int32_t* tokens, size_t n) {
  if (!file_) throw DataError("shard '" + path_ + "' is already finished");
  std::vector<unsigned char> buf(n * token_bytes_);
  for (size_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || static_cast<uint64_t>(tokens[i]) >= vocab_size_)
      throw DataError("shard '" + path_ + "': token " + std::to_string(tokens[i]) +
                      " is outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
    if (token_bytes_ == 2) {
      uint16_t v = static_cast<uint16_t>(tokens[i]);
      std::memcpy(&buf[2 * i], &v, 2);
    } else {
      uint32_t v = static_cast<uint32_t>(tokens[i]);
      std::memcpy(&buf[4 * i], &v, 4);
    }
  }
  if (n_tokens_ + n > static_cast<uint64_t>(INT32_MAX))
    throw DataError("shard '" + path_ +
                    "': more than 2^31-1 tokens do not fit the int32 header "
                    "count; use a smaller shard size");
  if (std::fwrite(buf.data(), 1, buf.size(), file_) != buf.size())
    throw DataError("cannot write '" + tmp_path_ + "': " + errno_text());
  n_tokens_ += n;
}

void ShardWriter::finish() {
  if (!file_) throw DataError("shard '" + path_ + "' is already finished");
  const bool wide = token_bytes_ == 4;
  int32_t header[3] = {wide ? kShardMagicU32 : kShardMagicU16,
                       wide ? kShardVersionU32 : kShardVersionU16, static_cast<int32_t>(n_tokens_)};
  const bool ok = std::fseek(file_, 0, SEEK_SET) == 0 &&
                  std::fwrite(header, sizeof(int32_t), 3, file_) == 3 && std::fflush(file_) == 0 &&
                  ::fsync(::fileno(file_)) == 0;
  std::string err = errno_text();
  std::fclose(file_);
  file_ = nullptr;
  if (!ok || std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    if (ok) err = errno_text();
    std::remove(tmp_path_.c_str());
    throw DataError("cannot complete shard '" + path_ + "': " + err);
  }
}

}  // namespace attnlab::data
