// Temp dirs and composition shortcuts for the config tests.
#include "config_test_util.h"

#include <stdlib.h>

#include <fstream>
#include <random>

namespace attnlab::config::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "attnlab_config_XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::write(const std::string& relative, const std::string& text) const {
  const fs::path file = path_ / relative;
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return file;
}

std::vector<ResolvedConfig> compose(const TempDir& dir, const std::string& file,
                                    const std::vector<std::string>& overrides) {
  ComposeOptions options;
  options.search_path.push_back(dir.path());
  return compose_experiment(dir.path() / file, overrides, options);
}

long long random_int(long long lo, long long hi) {
  static std::mt19937_64 rng(std::random_device{}());
  return std::uniform_int_distribution<long long>(lo, hi)(rng);
}

}  // namespace attnlab::config::test
