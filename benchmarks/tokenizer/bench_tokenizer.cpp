// attnlab's side of the tokenizer benchmark: encode every document of a JSONL file with one
// thread, a first (cold-cache) pass then PASSES-1 more; prints one line that run.sh compares
// with the peer's.   bench_tokenizer DOCS.jsonl TOKENIZER TOKENIZER_DIR PASSES
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attnlab/data/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: bench_tokenizer DOCS.jsonl TOKENIZER TOKENIZER_DIR PASSES\n";
    return 2;
  }
  try {
    std::vector<std::string> texts;
    std::ifstream f(argv[1]);
    if (!f) throw std::runtime_error(std::string("cannot read ") + argv[1]);
    size_t bytes = 0;
    for (std::string line; std::getline(f, line);) {
      if (line.empty()) continue;
      texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
      bytes += texts.back().size();
    }
    const auto tok = attnlab::data::Tokenizer::load(argv[2], argv[3]);
    const int passes = std::max(1, std::atoi(argv[4]));
    std::vector<int32_t> ids;
    auto pass = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      size_t tokens = 0;
      for (const auto& t : texts) {
        ids.clear();
        tok.encode_into(t, ids);
        tokens += ids.size();
      }
      return std::make_pair(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), tokens);
    };
    const auto [first_seconds, tokens] = pass();
    double seconds = 0;
    for (int i = 1; i < passes; ++i) seconds += pass().first;
    const double steady = passes > 1 ? seconds / (passes - 1) : first_seconds;
    std::printf(
        "attnlab: docs %zu bytes %zu tokens %zu first_pass_MB/s %.2f MB/s %.2f tokens/s %.0f\n",
        texts.size(), bytes, tokens, bytes / first_seconds / 1e6, bytes / steady / 1e6,
        tokens / steady);
  } catch (const std::exception& e) {
    std::cerr << "bench_tokenizer: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
