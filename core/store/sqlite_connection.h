// Thin RAII over the SQLite C API for the store: a connection, prepared statements with
// bound parameters, and IMMEDIATE transactions. Every error names the database file.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace attnlab::store::detail {

class Connection;

// One prepared statement. Values are bound by 1-based index; never spliced into SQL.
class Statement {
 public:
  Statement(Connection& db, const std::string& sql);
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
  double column_double(int column) const;  // NULL reads as NaN (SQLite stores NaN as NULL)
  std::string column_text(int column) const;  // "" for NULL

 private:
  Connection& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class Connection {
 public:
  // Opens (creating) the file; read_only: opens an existing file without ever writing it.
  explicit Connection(const std::string& path, bool read_only = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(const std::string& sql);  // statements without parameters (schema, pragmas)
  int64_t changes() const;
  int64_t last_insert_rowid() const;
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // Throws StoreError "<path>: <what>: <sqlite message> (<hint>)" for result code `rc`.
  [[noreturn]] void fail(int rc, const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE (takes the write lock up front, waiting up to the busy timeout); rolls back
// in the destructor unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Connection& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& db_;
  bool open_ = true;
};

}  // namespace attnlab::store::detail
