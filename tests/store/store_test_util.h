// Helpers of the store tests: fresh database paths under the build tree and raw SQLite access
// that bypasses attnlab::store (to plant old schemas, damage and read what was written).
#pragma once
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace attnlab::store::test {

namespace fs = std::filesystem;

// A fresh path under the build tree, removed (with its WAL files) before use; its directory
// exists (a writable open creates only the default results folder).
inline std::string fresh_db(const std::string& name) {
  fs::path dir = fs::path(ATTNLAB_BINARY_DIR) / "test_tmp" / "store" / name;
  fs::remove_all(dir);
  fs::create_directories(dir / "nested");
  return (dir / "nested" / "attnlab.db").string();
}

inline int raw_user_version(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  int v = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

inline void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

// Every byte of a file ("" when it does not exist).
inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace attnlab::store::test
