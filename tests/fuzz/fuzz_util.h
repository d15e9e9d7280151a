// Helpers shared by the libFuzzer targets: one scratch folder per fuzzing process (inputs that
// the code under test reads as files are written there), the shared data folder, and the
// checks a target uses to stop on a broken property (abort: libFuzzer saves the input).
#pragma once
#include <nlohmann/json.hpp>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace attnlab::fuzz {

// A folder under $TMPDIR made on first use and removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "attnlab_fuzz_XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      std::fprintf(stderr, "fuzz: mkdtemp failed for %s\n", pattern.c_str());
      std::abort();
    }
    std::atexit([] { std::filesystem::remove_all(scratch_dir()); });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

// Writes `size` bytes to scratch_dir()/relative (parent folders created); returns the path.
inline std::filesystem::path write_scratch(const std::string& relative, const void* data,
                                           size_t size) {
  const auto path = scratch_dir() / relative;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

// The shared data folder (tokenizers): $ATTNLAB_SHARED, else ../shared next to the repository.
inline std::string shared_dir() {
  const char* env = std::getenv("ATTNLAB_SHARED");
  return env && *env ? env : ATTNLAB_FUZZ_DEFAULT_SHARED;
}

// Stops the run with a message when a property the code promises does not hold.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: property violated: %s\n", what);
    std::abort();
  }
}

// JSON equality where NaN equals NaN (YAML's .nan reads back as NaN, which == never matches).
inline bool same_json(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number_float() && b.is_number_float() && std::isnan(a.get<double>())) {
    return std::isnan(b.get<double>());
  }
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key()) || !same_json(it.value(), b.at(it.key()))) return false;
    }
    return true;
  }
  if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!same_json(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace attnlab::fuzz
