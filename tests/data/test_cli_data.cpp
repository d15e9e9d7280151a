// The `attnlab data` subcommands through cmd_data(): help, tokenize/detokenize round trips,
// inspect on the reference shard, prepare from the command line, usage errors.
#include <catch2/catch.hpp>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "attnlab/data/shard.h"
#include "cli_common.h"
#include "commands.h"
#include "test_helpers.h"

using namespace attnlab::test;

namespace {

// Runs `attnlab data ARGS` with `input` on stdin; returns {exit code, stdout}.
std::pair<int, std::string> run_data(std::vector<std::string> args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out;
  auto* old_in = std::cin.rdbuf(in.rdbuf());
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  int rc = -1;
  try {
    rc = attnlab::cli::cmd_data(args);
  } catch (...) {
    std::cin.rdbuf(old_in);
    std::cout.rdbuf(old_out);
    throw;
  }
  std::cin.rdbuf(old_in);
  std::cout.rdbuf(old_out);
  return {rc, out.str()};
}

const std::string kDir = "--tokenizer-dir=" + shared_path("tokenizers");

}  // namespace

TEST_CASE("attnlab data --help lists the four subcommands", "[cli]") {
  auto [rc, out] = run_data({"--help"});
  CHECK(rc == 0);
  for (const char* s : {"prepare", "inspect", "tokenize", "detokenize"})
    CHECK_THAT(out, Catch::Contains(s));
  auto [rc2, out2] = run_data({"prepare", "--help"});
  CHECK(rc2 == 0);
  CHECK_THAT(out2, Catch::Contains("--shard-tokens") && Catch::Contains("--skip-bad-lines"));
}

TEST_CASE("tokenize and detokenize round-trip on the command line", "[cli]") {
  auto [rc, ids] = run_data({"tokenize", kDir}, "Hello world");
  CHECK(rc == 0);
  CHECK(ids == "15496 995\n");
  auto [rc2, text] = run_data({"detokenize", kDir}, ids);
  CHECK(text == "Hello world");
  auto [rc3, lines] = run_data({"tokenize", "--jsonl", "--tokenizer=qwen3", kDir},
                               "{\"text\": \"a b\"}\n{\"text\": \"2024\"}\n");
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 2);
  auto [rc4, back] = run_data({"detokenize", "--jsonl", "--tokenizer=qwen3", kDir}, lines);
  CHECK(back == "{\"text\": \"a b\"}\n{\"text\": \"2024\"}\n");
  CHECK_THROWS_WITH(run_data({"detokenize", kDir}, "12 x3"),
                    Catch::Contains("'x3' is not a token id"));
}

TEST_CASE("inspect reports the reference shard", "[cli]") {
  auto [rc, out] = run_data({"inspect", kDir, "--show=8", kReferenceShard});
  CHECK(rc == 0);
  CHECK_THAT(out, Catch::Contains("tokens:     216090") && Catch::Contains("documents:  300") &&
                      Catch::Contains("vocabulary: OK") && Catch::Contains("<|endoftext|>How AP"));
  // Read as Qwen3 ids the shard is fine, read against a tiny vocabulary it is not.
  TempDir dir("cli_inspect");
  const std::string bad = dir.file("bad.bin");
  write_raw_shard(bad, {20240520, 1, 3}, {1, 2, 60000}, 2);
  auto [rc2, out2] = run_data({"inspect", kDir, bad});
  CHECK(rc2 == 1);
  CHECK_THAT(out2, Catch::Contains("ERROR: 1 token(s) >= 50257") && Catch::Contains("offset 2"));
}

TEST_CASE("prepare from the command line; usage errors", "[cli]") {
  TempDir dir("cli_prepare");
  const std::string input = shared_path("data/fineweb/fineweb-sample-300.jsonl");
  auto [rc, out] = run_data({"prepare", kDir, "-q", "--val-tokens=16384", "--shard-tokens=100000",
                             "-o", dir.file("o"), input});
  CHECK(rc == 0);
  CHECK_THAT(out, Catch::Contains("prepared 300 documents, 216090 tokens"));
  attnlab::data::MappedShard val(dir.file("o/fineweb_val_000000.bin"));
  CHECK(val.size() == 16384);
  CHECK_THROWS_AS(run_data({"frobnicate"}), attnlab::cli::UsageError);
  CHECK_THROWS_AS(run_data({"prepare", kDir, "-o", dir.file("o")}), attnlab::cli::UsageError);
  CHECK_THROWS_AS(run_data({"tokenize", "--bogus"}), attnlab::cli::UsageError);
}
