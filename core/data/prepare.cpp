// `data prepare`: read documents, tokenize batches of them on every core, write shards in
// order (temp name + rename), then the manifest; see prepare.h.
#include "attnlab/data/prepare.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "attnlab/data/documents.h"
#include "attnlab/data/loader.h"
#include "attnlab/data/shard.h"
#include "attnlab/data/tokenizer.h"
#include "progress.h"

namespace attnlab::data {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBatchBytes = 8 << 20;  // raw input per parallel batch
constexpr size_t kBatchRecords = 16384;
constexpr int kMaxWarnings = 10;  // skipped lines reported one by one, then counted

// Rolls the token stream over shards: val shard first (index 0), then train shards.
class ShardSequence {
 public:
  ShardSequence(const PrepareOptions& o, uint64_t vocab_size)
      : o_(o), vocab_size_(vocab_size), index_(o.val_tokens > 0 ? 0 : 1) {}

  void append(const int32_t* tokens, size_t n) {
    while (n > 0) {
      if (!writer_) open();
      const uint64_t cap = index_ == 0 ? o_.val_tokens : o_.shard_tokens;
      const size_t take = size_t(std::min<uint64_t>(n, cap - writer_->size()));
      writer_->append(tokens, take);
      tokens += take;
      n -= take;
      if (writer_->size() == cap) close();
    }
  }
  void close() {
    if (!writer_) return;
    writer_->finish();
    shards_.push_back({writer_->path(), index_ == 0 ? "val" : "train", writer_->size()});
    writer_.reset();
    ++index_;
  }
  const std::vector<PreparedShard>& shards() const { return shards_; }

 private:
  void open() {
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), "_%s_%06llu.bin", index_ == 0 ? "val" : "train",
                  (unsigned long long)index_);
    writer_ = std::make_unique<ShardWriter>((fs::path(o_.output_dir) / (o_.name + suffix)).string(),
                                            vocab_size_);
  }
  const PrepareOptions& o_;
  uint64_t vocab_size_;
  uint64_t index_;
  std::unique_ptr<ShardWriter> writer_;
  std::vector<PreparedShard> shards_;
};

void create_output_dir(const std::string& dir) {
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw DataError("prepare: --output-dir '" + dir +
                    "' is a file, not a folder; give a folder for the shards (created if missing)");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw DataError("prepare: cannot create --output-dir '" + dir + "': " + ec.message());
}

// Earlier output of the same name: refused unless --overwrite; stale temporaries always go.
void clear_previous_output(const PrepareOptions& o) {
  std::vector<fs::path> previous;
  for (const auto& e : fs::directory_iterator(o.output_dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(o.name + "_", 0) != 0) continue;
    const bool tmp = f.size() > 8 && f.compare(f.size() - 8, 8, ".bin.tmp") == 0;
    if (tmp) {
      fs::remove(e.path());
      continue;
    }
    const bool shard =
        f.size() > 4 && f.compare(f.size() - 4, 4, ".bin") == 0 &&
        (f.find("_val_") != std::string::npos || f.find("_train_") != std::string::npos);
    if (shard || f == o.name + "_manifest.json") previous.push_back(e.path());
  }
  if (previous.empty()) return;
  if (!o.overwrite)
    throw DataError("output folder '" + o.output_dir + "' already holds " +
                    std::to_string(previous.size()) + " file(s) of '" + o.name + "' (e.g. " +
                    previous.front().filename().string() +
                    "); pass --overwrite to replace them or choose another --name/--output-dir");
  for (const auto& p : previous) fs::remove(p);
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void write_manifest(const PrepareOptions& o, const Tokenizer& tok,
                    const std::vector<std::string>& inputs, const PrepareResult& r) {
  nlohmann::json m;
  m["format"] = "llm.c token shards (header 256 x int32, then uint16/uint32 tokens)";
  m["created"] = utc_now();
  m["tokenizer"] = {{"name", tok.name()},
                    {"hash", tok.hash()},
                    {"vocab_size", tok.vocab_size()},
                    {"eot_id", tok.eot_id()}};
  for (const auto& f : inputs) m["sources"].push_back({{"path", f}, {"bytes", fs::file_size(f)}});
  m["text_field"] = o.text_field;
  m["documents"] = r.documents;
  m["skipped_lines"] = r.skipped_lines;
  m["tokens"] = r.tokens;
  m["text_bytes"] = r.text_bytes;
  m["shard_tokens"] = o.shard_tokens;
  m["val_tokens"] = o.val_tokens;
  for (const auto& s : r.shards)
    m["shards"].push_back(
        {{"file", fs::path(s.path).filename().string()}, {"split", s.split}, {"tokens", s.tokens}});
  const std::string tmp = r.manifest_path + ".tmp";
  {
    std::ofstream f(tmp);
    f << m.dump(2) << "\n";
    if (!f) throw DataError("cannot write manifest '" + tmp + "'");
  }
  fs::rename(tmp, r.manifest_path);
}

struct Encoded {
  std::vector<int32_t> tokens;
  size_t text_bytes = 0;
  std::string bad_record;      // a RecordError's message: the caller skips or stops
  std::exception_ptr failure;  // anything else: stops the run
};

// The workers helping the calling thread, joined when the group goes out of scope, on error
// paths too (a std::thread destroyed while joinable ends the program). A thread the system
// refuses is a DataError.
class ThreadGroup {
 public:
  explicit ThreadGroup(int threads) : threads_wanted_(threads) {
    workers_.reserve(size_t(threads - 1));
  }
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;
  ~ThreadGroup() {
    for (auto& t : workers_) t.join();
  }
  void start(const std::function<void()>& work) {
    try {
      workers_.emplace_back(work);
    } catch (const std::system_error& e) {  // the caller is thread 1
      throw DataError("prepare: cannot start tokenizer thread " +
                      std::to_string(workers_.size() + 2) + " of --threads " +
                      std::to_string(threads_wanted_) + " (" + e.what() + "); lower --threads");
    }
  }

 private:
  int threads_wanted_;
  std::vector<std::thread> workers_;
};

void encode_batch(const Tokenizer& tok, const std::vector<Record>& records,
                  std::vector<Encoded>& out, const std::string& text_field, int threads) {
  out.assign(records.size(), Encoded{});
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < records.size();) {
      try {
        const std::string text = parse_record(records[i], text_field);
        out[i].text_bytes = text.size();
        out[i].tokens.reserve(text.size() / 3 + 1);
        out[i].tokens.push_back(tok.eot_id());
        tok.encode_into(text, out[i].tokens);
      } catch (const RecordError& e) {
        out[i].bad_record = e.what();
      } catch (...) {
        out[i].failure = std::current_exception();
      }
    }
  };
  ThreadGroup pool(threads);
  for (int t = 1; t < threads; ++t) pool.start(work);
  work();
}

}  // namespace

PrepareResult prepare_shards(const PrepareOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.output_dir.empty()) throw DataError("prepare: --output-dir is required");
  if (o.name.empty() || o.name.find('/') != std::string::npos)
    throw DataError("prepare: --name '" + o.name + "' must be a non-empty file prefix without '/'");
  if (o.shard_tokens == 0 || o.shard_tokens > uint64_t(INT32_MAX))
    throw DataError("prepare: --shard-tokens must be in 1 .. 2^31-1 (the header's int32 count)");
  if (o.val_tokens > uint64_t(INT32_MAX))
    throw DataError("prepare: --val-tokens must be at most 2^31-1 (the header's int32 count)");
  if (o.threads < 0 || o.threads > kMaxPrepareThreads)
    throw DataError("prepare: --threads " + std::to_string(o.threads) + " is outside 0 .. " +
                    std::to_string(kMaxPrepareThreads) + " (0: every core)");
  const std::vector<std::string> inputs = expand_file_patterns(o.inputs, "prepare inputs");
  DocumentReader reader(inputs);
  const Tokenizer tok = Tokenizer::load(o.tokenizer, o.tokenizer_dir);
  tok.eot_id();  // fails early if the tokenizer has no document separator
  const int threads =
      o.threads > 0 ? o.threads
                    : std::clamp(int(std::thread::hardware_concurrency()), 1, kMaxPrepareThreads);
  create_output_dir(o.output_dir);
  clear_previous_output(o);

  PrepareResult r;
  ShardSequence shards(o, tok.vocab_size());
  ProgressMeter progress("prepare", o.progress);
  std::vector<Record> batch;
  std::vector<Encoded> encoded;
  while (true) {
    batch.clear();
    size_t bytes = 0;
    for (Record rec; batch.size() < kBatchRecords && bytes < kBatchBytes && reader.next(rec);) {
      bytes += rec.raw.size();
      batch.push_back(std::move(rec));
    }
    if (batch.empty()) break;
    encode_batch(tok, batch, encoded, o.text_field, threads);
    for (auto& e : encoded) {
      if (e.failure) std::rethrow_exception(e.failure);
      if (!e.bad_record.empty()) {
        if (!o.skip_bad_lines)
          throw DataError(e.bad_record + "; pass --skip-bad-lines to skip such lines");
        if (++r.skipped_lines <= kMaxWarnings)
          std::cerr << "attnlab data prepare: warning: skipped " << e.bad_record << "\n";
        continue;
      }
      shards.append(e.tokens.data(), e.tokens.size());
      ++r.documents;
      r.tokens += e.tokens.size();
      r.text_bytes += e.text_bytes;
    }
    progress.update(r.documents, r.tokens, r.text_bytes, reader.bytes_consumed(),
                    reader.bytes_total());
  }
  if (r.documents == 0)
    throw DataError("prepare: no documents in the inputs (" + std::to_string(r.skipped_lines) +
                    " line(s) skipped); check the files and --text-field");
  shards.close();
  if (r.skipped_lines > kMaxWarnings)
    std::cerr << "attnlab data prepare: warning: " << r.skipped_lines
              << " malformed lines skipped in all\n";
  r.shards = shards.shards();
  r.manifest_path = (fs::path(o.output_dir) / (o.name + "_manifest.json")).string();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_manifest(o, tok, inputs, r);
  progress.update(r.documents, r.tokens, r.text_bytes, reader.bytes_total(), reader.bytes_total(),
                  true);
  return r;
}

}  // namespace attnlab::data
