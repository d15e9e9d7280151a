// SQLite connection, statements and transactions for the store (see sqlite_connection.h).
#include "sqlite_connection.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <utility>

#include "attnlab/store/store.h"

namespace attnlab::store::detail {

namespace {

constexpr int kBusyTimeoutMs = 30000;
constexpr size_t kSqlExcerptChars = 80;

std::string hint_for(int rc, const std::string& path) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another process held the database for over 30 s; retry, or stop the other writer";
    case SQLITE_NOTADB:
      return "the file is not an attnlab SQLite database; pass another --db path";
    case SQLITE_CORRUPT:
      return "the database is damaged; " + damaged_store_advice(path);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return "check that the file and its directory exist and that you may read them";
    case SQLITE_READONLY:
      return "you may not write this file or its directory; pass a writable --db path";
    case SQLITE_FULL:
      return "the disk is full; free space and retry";
    case SQLITE_CONSTRAINT:
      return "a value broke a table constraint; see docs/STORE.md";
    default:
      return "see docs/STORE.md";
  }
}

// The SQL on one line, cut to kSqlExcerptChars: a detail for whoever debugs the store.
std::string sql_excerpt(const std::string& sql) {
  std::string out;
  for (char c : sql) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.size() > kSqlExcerptChars ? out.substr(0, kSqlExcerptChars) + "..." : out;
}

std::string error_text(const std::string& path, int rc, const std::string& operation,
                       const std::string& message, const std::string& sql) {
  std::string text =
      path + ": cannot " + operation + ": " + message + " (" + hint_for(rc, path) + ")";
  if (!sql.empty()) text += " [SQL: " + sql_excerpt(sql) + "]";
  return text;
}

// `word` for a shell command line: as it is when it holds only safe characters, else quoted.
std::string shell_quote(const std::string& word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string("/._-+,:=@").find(static_cast<char>(c)) != std::string::npos;
  });
  if (safe) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "file:<path>?immutable=1" with the characters a URI reserves percent-encoded.
std::string immutable_uri(const std::string& path) {
  static const char* hex = "0123456789ABCDEF";
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::string("/-._~").find(static_cast<char>(c)) != std::string::npos) {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += hex[c >> 4];
      uri += hex[c & 15];
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

std::string damaged_store_advice(const std::string& path) {
  const std::string recovered = path + ".recovered";
  return "restore it from a backup, or rescue its rows: sqlite3 " + shell_quote(path) +
         " .recover | sqlite3 " + shell_quote(recovered) + ", then pass --db " +
         shell_quote(recovered);
}

Connection::Connection(const std::string& path, Mode mode) : path_(path) {
  int flags = SQLITE_OPEN_FULLMUTEX;
  std::string name = path;
  switch (mode) {
    case Mode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
    case Mode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
    case Mode::kImmutable:
      flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
      name = immutable_uri(path);
      break;
  }
  int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(error_text(path_, rc, "open the results store", message, ""));
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
}

Connection::~Connection() { sqlite3_close_v2(db_); }

void Connection::exec(const std::string& operation, const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw StoreError(error_text(path_, rc, operation, message, sql));
  }
}

int64_t Connection::changes() const { return sqlite3_changes(db_); }
int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

std::string Connection::quick_check_problems() {
  sqlite3_stmt* stmt = nullptr;
  std::string problems;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA quick_check(5)", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      const std::string line = text ? text : "";
      if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
    }
  }
  const std::string message = sqlite3_errmsg(db_);
  sqlite3_finalize(stmt);
  if (rc == SQLITE_DONE) return problems;
  if ((rc & 0xff) == SQLITE_CORRUPT) return message;  // too damaged to list its problems
  throw StoreError(error_text(path_, rc, "check the store's integrity", message, ""));
}

void Connection::fail(int rc, const std::string& operation, const std::string& sql) const {
  throw StoreError(error_text(path_, rc, operation, sqlite3_errmsg(db_), sql));
}

Statement::Statement(Connection& db, std::string operation, const std::string& sql)
    : db_(db), operation_(std::move(operation)), sql_(sql) {
  int rc = sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, operation_, sql_);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::check_bind(int rc, int index) const {
  if (rc != SQLITE_OK) {
    db_.fail(rc, operation_ + " (parameter " + std::to_string(index) + ")", sql_);
  }
}

Statement& Statement::bind(int index, int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check_bind(sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  check_bind(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                               SQLITE_TRANSIENT),
             index);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, operation_, sql_);
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::column_double(int column) const {
  if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return sqlite3_column_double(stmt_, column);
}
std::string Statement::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (!text) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

Transaction::Transaction(Connection& db, std::string operation)
    : db_(db), operation_(std::move(operation)) {
  db_.exec(operation_, "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec(operation_, "COMMIT");
  open_ = false;
}

}  // namespace attnlab::store::detail
