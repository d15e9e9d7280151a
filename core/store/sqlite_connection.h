// Thin RAII over the SQLite C API for the store: a connection, prepared statements with
// bound parameters, and IMMEDIATE transactions. Every error names the database file, the
// operation that failed and SQLite's message; the SQL comes last, as a detail.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace attnlab::store::detail {

class Connection;

// One prepared statement. Values are bound by 1-based index; never spliced into SQL.
// `operation` says what the statement is for, in words ("log metrics of run 3"): errors read
// "<db>: cannot <operation>: <sqlite message> (<hint>) [SQL: ...]".
class Statement {
 public:
  Statement(Connection& db, std::string operation, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, const char* value) { return bind(index, std::string(value)); }

  bool step();   // true while a row is available
  void run();    // steps to completion, for statements without rows
  void reset();  // ready to bind and step again

  int64_t column_int(int column) const;
  double column_double(int column) const;     // NULL reads as NaN (SQLite stores NaN as NULL)
  std::string column_text(int column) const;  // "" for NULL

 private:
  void check_bind(int rc, int index) const;

  Connection& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string operation_, sql_;
};

class Connection {
 public:
  // How a connection opens its file. kReadOnly never writes it (SQLITE_OPEN_READONLY);
  // kImmutable also takes no locks and ignores any WAL, for a store in a directory the
  // reader may not write (SQLite cannot create its -shm file there).
  enum class Mode { kReadWrite, kReadOnly, kImmutable };
  // kReadWrite creates the file when missing.
  explicit Connection(const std::string& path, Mode mode = Mode::kReadWrite);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Statements without parameters (schema, pragmas); `operation` as for Statement.
  void exec(const std::string& operation, const std::string& sql);
  int64_t changes() const;
  int64_t last_insert_rowid() const;
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // The problems PRAGMA quick_check finds (at most a few, one per line); "" when the file is
  // sound. A file that is not SQLite at all throws StoreError instead.
  std::string quick_check_problems();

  // Throws StoreError "<path>: cannot <operation>: <sqlite message> (<hint>)", followed by
  // " [SQL: <first 80 characters>]" when `sql` is given, for result code `rc`.
  [[noreturn]] void fail(int rc, const std::string& operation, const std::string& sql = "") const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE (takes the write lock up front, waiting up to the busy timeout); rolls back
// in the destructor unless commit() was called.
class Transaction {
 public:
  Transaction(Connection& db, std::string operation);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& db_;
  std::string operation_;
  bool open_ = true;
};

// What to do with a store that fails its integrity check (names `path` in the commands).
std::string damaged_store_advice(const std::string& path);

}  // namespace attnlab::store::detail
