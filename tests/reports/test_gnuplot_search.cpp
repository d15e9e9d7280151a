// Looking for gnuplot on PATH: entries that are missing, files, unreadable directories
// (mode 000) or symlink loops are skipped, and the program in a later entry is still found.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fresh_rng.h"
#include "gnuplot_runner.h"

namespace fs = std::filesystem;
using attnlab::reports::find_program;

namespace {

// Sets PATH for one scope and restores it.
struct ScopedPath {
  std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  explicit ScopedPath(const std::string& path) { ::setenv("PATH", path.c_str(), 1); }
  ~ScopedPath() { ::setenv("PATH", saved.c_str(), 1); }
};

}  // namespace

TEST_CASE("a PATH with missing, unreadable, looping and file entries still finds the program",
          "[reports][path]") {
  attnlab::reports::testing::FreshRng fresh;
  INFO("seed " << fresh.seed);
  const fs::path dir = fs::path(ATTNLAB_BINARY_DIR) / "test_tmp" / "reports" / "path_search";
  if (fs::exists(dir)) fs::permissions(dir / "locked", fs::perms::owner_all, fs::perm_options::add);
  fs::remove_all(dir);
  fs::create_directories(dir / "locked");
  fs::create_directories(dir / "bin");
  const std::string program = "plotter" + std::to_string(fresh.engine() % 100000);
  std::ofstream(dir / "bin" / program) << "#!/bin/sh\n";
  fs::permissions(dir / "bin" / program, fs::perms::owner_all);
  std::ofstream(dir / "a_file") << "not a directory";
  fs::create_directory_symlink(dir / "loop", dir / "loop");  // stat() through it: ELOOP
  fs::permissions(dir / "locked", fs::perms::none);          // binds only when not root

  const std::string bad = (dir / "missing").string() + ":" + (dir / "a_file").string() + ":" +
                          (dir / "locked").string() + ":" + (dir / "loop").string();
  {
    const ScopedPath path(bad + ":" + (dir / "bin").string());
    const auto found = find_program(program);
    REQUIRE(found.has_value());
    CHECK(*found == dir / "bin" / program);
  }
  {
    const ScopedPath path(bad);
    CHECK_FALSE(find_program(program).has_value());
  }
  fs::permissions(dir / "locked", fs::perms::owner_all);
}
