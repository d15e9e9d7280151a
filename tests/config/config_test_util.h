// Helpers of the config tests: a fresh temp dir to write YAML into, and a check that an
// expression throws a ConfigError with the expected key, position and message gist.
#pragma once
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "attnlab/config/config.h"

namespace attnlab::config::test {

// A directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to path()/relative (creating folders) and returns the full path.
  std::filesystem::path write(const std::string& relative, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// compose_experiment on path()/file with the temp dir also on the search path.
std::vector<ResolvedConfig> compose(const TempDir& dir, const std::string& file,
                                    const std::vector<std::string>& overrides = {});

// A random integer in [lo, hi] (fresh every run; Catch prints the values a failing check saw).
long long random_int(long long lo, long long hi);

}  // namespace attnlab::config::test

// Asserts that `expr` throws a ConfigError whose key() is `key_`, whose origin ends with
// `where_` (e.g. "exp.yaml:3:5" or "override 'a=1'") and whose message contains `gist_`.
#define CHECK_CONFIG_ERROR(expr, key_, where_, gist_)                                 \
  do {                                                                                \
    try {                                                                             \
      (void)(expr);                                                                   \
      FAIL_CHECK("expected a ConfigError from " #expr);                               \
    } catch (const ::attnlab::config::ConfigError& config_error_) {                   \
      INFO(config_error_.what());                                                     \
      CHECK(config_error_.key() == std::string(key_));                                \
      CHECK_THAT(config_error_.origin().str(), Catch::EndsWith(std::string(where_))); \
      CHECK_THAT(config_error_.message(), Catch::Contains(std::string(gist_)));       \
    }                                                                                 \
  } while (0)
