// Bad input to the data pipeline never crashes and never passes silently (issue 21): thread
// counts and other integer options, thread start failures, duplicated JSON keys, NUL bytes in
// detokenized text, truncated or mislabelled compressed input (and the files it leaves open),
// directories given as files.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "attnlab/data/documents.h"
#include "attnlab/data/prepare.h"
#include "attnlab/data/shard.h"
#include "cli_common.h"
#include "commands.h"
#include "test_helpers.h"

using namespace attnlab::data;
using namespace attnlab::test;
using attnlab::cli::UsageError;

namespace {

const std::string kDir = "--tokenizer-dir=" + shared_path("tokenizers");

// Points a standard stream at another buffer until the end of the scope, exceptions included.
struct Redirect {
  std::ios& stream;
  std::streambuf* old;
  Redirect(std::ios& s, std::streambuf* to) : stream(s), old(s.rdbuf(to)) {}
  ~Redirect() {
    stream.rdbuf(old);
    stream.clear();
  }
};

// `attnlab data ARGS` with `input` on stdin; returns stdout (errors propagate as exceptions).
std::string run_data(const std::vector<std::string>& args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out;
  Redirect to_in(std::cin, in.rdbuf()), to_out(std::cout, out.rdbuf());
  attnlab::cli::cmd_data(args);
  return out.str();
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::string s;
  for (uint32_t t : random_tokens(n, 256, seed)) s += char(t);
  return s;
}

// A few lines of JSONL with fresh random words, enough to make several documents.
std::string random_jsonl(size_t lines, uint64_t seed) {
  std::string s;
  const auto words = random_tokens(lines * 40, 100000, seed);
  for (size_t l = 0; l < lines; ++l) {
    s += "{\"text\": \"";
    for (size_t w = 0; w < 40; ++w) s += "w" + std::to_string(words[l * 40 + w]) + " ";
    s += "\"}\n";
  }
  return s;
}

std::string gzip(const std::string& text) {
  uLongf size = compressBound(uLong(text.size())) + 32;
  std::string out(size, '\0');
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // +16: gzip wrapper
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = uInt(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(size);
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

PrepareOptions options(const TempDir& dir, const std::string& input) {
  PrepareOptions o;
  o.inputs = {input};
  o.output_dir = dir.file("out");
  o.tokenizer_dir = shared_path("tokenizers");
  o.progress = false;
  o.threads = 2;
  o.val_tokens = 0;
  o.overwrite = true;  // each check starts afresh even when an earlier one wrote shards
  return o;
}

// Runs `fn` in a child process under an address-space limit `headroom` bytes above the
// current size; returns what the child wrote to the pipe, or why it ended abnormally.
std::string in_child_with_memory_limit(uint64_t headroom, const std::function<std::string()>& fn) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    long pages = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    const rlim_t limit = rlim_t(pages) * rlim_t(::sysconf(_SC_PAGESIZE)) + headroom;
    const rlimit rl{limit, limit};
    std::string message = ::setrlimit(RLIMIT_AS, &rl) == 0 ? fn() : "setrlimit failed";
    if (::write(fds[1], message.data(), message.size()) < 0) _exit(3);
    _exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) message.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return message;
}

// The number of file descriptors this process holds.
size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace

TEST_CASE("thread counts and integer options are checked, never crash", "[prepare][errors]") {
  TempDir dir("bad_threads");
  std::ofstream(dir.file("a.jsonl")) << random_jsonl(4, 2101);
  auto o = options(dir, dir.file("a.jsonl"));
  for (int threads : {-1, kMaxPrepareThreads + 1, 100000}) {
    o.threads = threads;
    CHECK_THROWS_WITH(prepare_shards(o), Catch::Contains("--threads " + std::to_string(threads)) &&
                                             Catch::Contains("0 .. 1024"));
  }
  const std::vector<std::vector<std::string>> bad = {
      {"prepare", "--threads=-1"},      {"prepare", "--threads=100000"},
      {"prepare", "--threads=two"},     {"prepare", "--threads=+4"},
      {"prepare", "--shard-tokens=-5"}, {"prepare", "--shard-tokens=0"},
      {"prepare", "--val-tokens=1e3"},  {"prepare", "--val-tokens=99999999999999999999"},
      {"inspect", "--show=-3"},         {"inspect", "--show=3x"},
  };
  for (auto args : bad) {
    const std::string option = args[1].substr(0, args[1].find('='));
    const std::string value = args[1].substr(args[1].find('=') + 1);
    if (args[0] == "prepare") args.insert(args.end(), {"-o", dir.file("out"), dir.file("a.jsonl")});
    if (args[0] == "inspect") args.push_back(kReferenceShard);
    CHECK_THROWS_AS(run_data(args), UsageError);
    CHECK_THROWS_WITH(run_data(args), Catch::Contains(option + " '" + value + "'") &&
                                          Catch::Contains("is not a whole number"));
  }
}

TEST_CASE("a thread the system refuses is an error, not std::terminate", "[prepare][errors]") {
  TempDir dir("bad_thread_start");
  std::ofstream(dir.file("a.jsonl")) << random_jsonl(64, 2102);
  auto o = options(dir, dir.file("a.jsonl"));
  o.threads = kMaxPrepareThreads;  // 1024 stacks of 8 MB do not fit in 1 GB of address space
  const std::string message = in_child_with_memory_limit(uint64_t(1) << 30, [&] {
    try {
      prepare_shards(o);
      return std::string("no error");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  });
  CHECK_THAT(message, Catch::Contains("cannot start tokenizer thread") &&
                          Catch::Contains("of --threads 1024") &&
                          Catch::Contains("lower --threads"));
}

TEST_CASE("a key repeated in one JSON object is a bad line naming it", "[prepare][errors]") {
  Record r;
  r.source = "docs.jsonl";
  r.line = 7;
  r.raw = R"({"text": "a", "text": "b"})";
  CHECK_THROWS_AS(parse_record(r, "text"), RecordError);
  CHECK_THROWS_WITH(parse_record(r, "text"),
                    Catch::Contains("docs.jsonl:7: duplicate key \"text\""));
  r.raw = R"({"text": "t", "meta": {"lang": "en", "score": 1, "lang": "fr"}})";
  CHECK_THROWS_WITH(parse_record(r, "text"), Catch::Contains("duplicate key \"lang\""));
  // The same key in sibling objects, or in objects inside an array, is fine.
  const std::string text = "doc " + std::to_string(random_tokens(1, 100000, 2103)[0]);
  r.raw = R"({"a": {"k": 1}, "b": [{"k": 2}, {"k": 3}], "text": ")" + text + "\"}";
  CHECK(parse_record(r, "text") == text);

  // In `data prepare` it stops the run like any bad line, or is skipped and counted.
  TempDir dir("bad_duplicate_key");
  std::ofstream(dir.file("d.jsonl")) << random_jsonl(2, 2104) << R"({"text": "a", "text": "b"})"
                                     << "\n";
  auto o = options(dir, dir.file("d.jsonl"));
  CHECK_THROWS_WITH(prepare_shards(o), Catch::Contains("d.jsonl:3: duplicate key \"text\""));
  o.skip_bad_lines = true;
  std::ostringstream sink;
  Redirect to_sink(std::cerr, sink.rdbuf());
  const auto result = prepare_shards(o);
  CHECK(result.documents == 2);
  CHECK(result.skipped_lines == 1);
  CHECK_THAT(sink.str(), Catch::Contains("d.jsonl:3: duplicate key"));
}

// A stream buffer that refuses every byte, like stdout on a full disk.
struct FullDisk : std::streambuf {
  int overflow(int) override { return traits_type::eof(); }
};

TEST_CASE("detokenize writes every byte, NUL included, or fails", "[cli]") {
  std::string bytes = random_bytes(300, 2105);
  bytes[50] = bytes[51] = bytes[200] = '\0';  // NULs well before the end, never only zeros
  CHECK(run_data({"detokenize", kDir}, run_data({"tokenize", kDir}, bytes)) == bytes);
  const std::string ids = run_data({"tokenize", kDir}, std::string("a\0b", 3));
  CHECK(run_data({"detokenize", kDir}, ids) == std::string("a\0b", 3));
  CHECK(run_data({"detokenize", "--jsonl", kDir}, ids) == "{\"text\": \"a\\u0000b\"}\n");

  FullDisk full;
  std::istringstream in(ids);
  Redirect to_in(std::cin, in.rdbuf()), to_full(std::cout, &full);
  CHECK_THROWS_WITH(attnlab::cli::cmd_data({"detokenize", kDir}),
                    Catch::Contains("cannot write to standard output"));
}

TEST_CASE("truncated or mislabelled compressed input is a file error", "[prepare][errors]") {
  TempDir dir("bad_compressed");
  const std::string gz = gzip(random_jsonl(200, 2108));
  REQUIRE(gz.size() > 2000);
  std::ofstream(dir.file("cut.jsonl.gz"), std::ios::binary) << gz.substr(0, gz.size() / 2);
  auto o = options(dir, dir.file("cut.jsonl.gz"));
  o.skip_bad_lines = true;  // truncation is not a bad line: it stops the run regardless
  CHECK_THROWS_WITH(prepare_shards(o),
                    Catch::Contains("cut.jsonl.gz") && Catch::Contains("truncated gzip data"));
  std::string flipped = gz;
  flipped[flipped.size() - 6] ^= 0x5a;  // the CRC-32 in the trailer
  std::ofstream(dir.file("crc.jsonl.gz"), std::ios::binary) << flipped;
  o.inputs = {dir.file("crc.jsonl.gz")};
  CHECK_THROWS_WITH(prepare_shards(o),
                    Catch::Contains("crc.jsonl.gz") && Catch::Contains("corrupt gzip data"));
  for (const std::string name : {"noise.jsonl.gz", "noise.jsonl.zst", "empty.jsonl.gz"}) {
    std::string noise = name == "empty.jsonl.gz" ? "" : random_bytes(3000, 2109);
    if (!noise.empty()) noise[0] = 'x';  // never a gzip or zstd magic number
    std::ofstream(dir.file(name), std::ios::binary) << noise;
    o.inputs = {dir.file(name)};
    const std::string format = name.find(".gz") != std::string::npos ? "gzip" : "zstd";
    CHECK_THROWS_WITH(prepare_shards(o),
                      Catch::Contains("'" + dir.file(name) + "' is not a " + format + " file"));
  }
}

TEST_CASE("a mislabelled compressed file is closed when it is refused", "[prepare][errors]") {
  TempDir dir("mislabelled_fds");
  std::string noise = random_bytes(200, 2111);
  noise[0] = 'y';  // never a gzip or zstd magic number
  for (const std::string name : {"noise.jsonl.gz", "noise.jsonl.zst"}) {
    std::ofstream(dir.file(name), std::ios::binary) << noise;
    const size_t before = open_fds();
    for (int i = 0; i < 2000; ++i) {
      DocumentReader reader({dir.file(name)});
      Record record;
      REQUIRE_THROWS_WITH(reader.next(record), Catch::Contains("' is not a "));
    }
    INFO(name);
    CHECK(open_fds() == before);
  }
}

TEST_CASE("a directory given as a file says so and what to give", "[prepare][errors]") {
  TempDir dir("bad_directory");
  std::filesystem::create_directories(dir.file("shards.bin"));
  CHECK_THROWS_WITH(MappedShard(dir.file("shards.bin")),
                    Catch::Contains("'" + dir.file("shards.bin") + "' is a directory") &&
                        Catch::Contains("/*.bin"));
  CHECK_THROWS_WITH(run_data({"inspect", kDir, dir.file("shards.bin")}),
                    Catch::Contains("is a directory"));
  std::filesystem::create_directories(dir.file("docs"));
  auto o = options(dir, dir.file("docs"));
  CHECK_THROWS_WITH(prepare_shards(o),
                    Catch::Contains("'" + dir.file("docs") + "' is a directory") &&
                        Catch::Contains("docs/*.jsonl"));
  std::ofstream(dir.file("a.jsonl")) << random_jsonl(2, 2110);
  std::ofstream(dir.file("taken")) << "a file";
  o = options(dir, dir.file("a.jsonl"));
  o.output_dir = dir.file("taken");
  CHECK_THROWS_WITH(prepare_shards(o), Catch::Contains("'" + dir.file("taken") + "' is a file"));
}
