// Bad input to the store never crashes and never passes silently: a --db in a missing
// directory or naming a directory, a damaged file (refused before anything is written), a
// store the user may read but not write (opened read-only), and errors that say what failed
// on which file before any SQL.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <random>

#include "attnlab/store/store.h"
#include "store_test_util.h"

using attnlab::store::Store;
using attnlab::store::StoreError;
using namespace attnlab::store::test;

namespace {

std::string error_of(const std::function<void()>& open) {
  try {
    open();
  } catch (const StoreError& e) {
    return e.what();
  }
  FAIL("expected a StoreError");
  return "";
}

// A store holding a random number of runs with random metrics; returns its path.
std::string store_with_rows(const std::string& name, std::mt19937& rng) {
  const auto path = fresh_db(name);
  Store store(path);
  std::uniform_real_distribution<double> loss(1.0, 9.0);
  const int runs = std::uniform_int_distribution<int>(3, 9)(rng);
  for (int i = 0; i < runs; ++i) {
    const auto run =
        store.get_or_create_run("e", "r" + std::to_string(i), "dense", i, "{}", "", "[]", "v");
    for (int step = 0; step < 50; ++step) store.log_metrics(run.id, step, {{"loss", loss(rng)}});
  }
  return path;
}

// The page number of the root of table `table` (read through SQLite itself).
int root_page(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(
              db, ("SELECT rootpage FROM sqlite_master WHERE name = '" + table + "'").c_str(), -1,
              &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  const int page = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return page;
}

// Overwrites one page with random bytes whose first (the b-tree page type) is invalid.
void scribble_over_page(const std::string& path, int page, std::mt19937& rng) {
  std::string bytes = file_bytes(path);
  REQUIRE(bytes.size() >= 100);
  // The header's big-endian page size at offset 16 (1 means 65536).
  const size_t size_field =
      static_cast<unsigned char>(bytes[16]) * 256u + static_cast<unsigned char>(bytes[17]);
  const size_t page_size = size_field == 1 ? 65536 : size_field;
  REQUIRE(bytes.size() >= page * page_size);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t i = 0; i < page_size; ++i) {
    bytes[(page - 1) * page_size + i] = static_cast<char>(byte(rng));
  }
  bytes[(page - 1) * page_size] = 0x7f;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Runs `body` in a child process as a user for whom permission bits bind (nobody when this
// runs as root, else this user); true when it returned true.
bool as_unprivileged_user(const std::function<bool()>& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    bool ok = false;
    try {
      ok = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) != 3);
  return WEXITSTATUS(status) == 0;
}

// Restores the working directory when it goes out of scope.
struct WorkingDirectory {
  fs::path saved = fs::current_path();
  explicit WorkingDirectory(const fs::path& dir) { fs::current_path(dir); }
  ~WorkingDirectory() { fs::current_path(saved); }
};

}  // namespace

TEST_CASE("a --db in a missing directory is refused; only the default results folder is created",
          "[store][bad-input]") {
  const fs::path dir = fs::path(fresh_db("paths")).parent_path();
  const auto typo = (dir / "reslts" / "attnlab.db").string();
  const auto what = error_of([&] { Store store(typo); });
  CHECK(what == typo + ": directory " + (dir / "reslts").string() +
                    " does not exist; create it or fix the path");
  CHECK_FALSE(fs::exists(dir / "reslts"));

  std::ofstream(dir / "a_file") << "not a directory";
  CHECK_THROWS_WITH(Store((dir / "a_file" / "x.db").string()),
                    Catch::Contains("is not a directory"));

  const WorkingDirectory cwd(dir);
  CHECK_THROWS_WITH(Store("results/sub/attnlab.db"),
                    Catch::Contains("directory results/sub does not exist"));
  CHECK_FALSE(fs::exists(dir / "results"));
  Store store(std::string(attnlab::store::kDefaultResultsDir) + "/attnlab.db");
  CHECK(fs::is_regular_file(dir / "results" / "attnlab.db"));
}

TEST_CASE("a --db that is a directory says so, for writing and for reading", "[store][bad-input]") {
  const auto dir = fs::path(fresh_db("is_dir")).parent_path().string();
  CHECK_THROWS_WITH(Store(dir), Catch::StartsWith(dir + " is a directory"));
  CHECK_THROWS_WITH(Store(dir, Store::ReadOnly{}), Catch::StartsWith(dir + " is a directory"));
  CHECK_THROWS_WITH(attnlab::store::open_store_to_read(dir),
                    Catch::StartsWith(dir + " is a directory"));
}

TEST_CASE("a damaged store is refused for writing, and nothing is written to it",
          "[store][bad-input]") {
  std::mt19937 rng(std::random_device{}());
  const auto path = store_with_rows("damaged", rng);
  scribble_over_page(path, root_page(path, "runs"), rng);
  const auto before = file_bytes(path);

  const auto what = error_of([&] { Store store(path); });
  INFO(what);
  CHECK(what.rfind(path + ": the store is damaged (PRAGMA quick_check: ", 0) == 0);
  CHECK(what.find("nothing was written to it") != std::string::npos);
  CHECK(what.find("restore it from a backup") != std::string::npos);
  CHECK(what.find("rescue its rows: sqlite3 " + path + " .recover | sqlite3 " + path +
                  ".recovered, then pass --db " + path + ".recovered") != std::string::npos);
  CHECK(file_bytes(path) == before);
  CHECK_FALSE(fs::exists(path + "-wal"));
}

TEST_CASE("reading opens the store read-only and leaves the file as it was", "[store][bad-input]") {
  std::mt19937 rng(std::random_device{}());
  const auto path = store_with_rows("read_only", rng);
  const auto before = file_bytes(path);
  const auto store = attnlab::store::open_store_to_read(path);
  const auto runs = store->runs("e");
  REQUIRE(runs.size() >= 3);
  // Root ignores permission bits, so the proof is the connection itself: it cannot write.
  CHECK_THROWS_WITH(store->heartbeat(runs[0].id), Catch::Contains("readonly"));
  CHECK(file_bytes(path) == before);
}

TEST_CASE("a store the user may read but not write, in a directory they may not write, is read",
          "[store][bad-input]") {
  std::mt19937 rng(std::random_device{}());
  const auto path = store_with_rows("not_writable", rng);
  const auto expected = Store(path, Store::ReadOnly{}).runs("e").size();
  // The child drops to an unprivileged user; the directory must be reachable for that user.
  char shared[] = "/tmp/attnlab_store_ro.XXXXXX";
  REQUIRE(::mkdtemp(shared) != nullptr);
  const fs::path dir = shared;
  fs::copy_file(path, dir / "attnlab.db");
  fs::permissions(dir / "attnlab.db",
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const bool read = as_unprivileged_user([&] {
    return attnlab::store::open_store_to_read((dir / "attnlab.db").string())->runs("e").size() ==
           expected;
  });
  CHECK(read);
  const bool wrote = as_unprivileged_user([&] {
    Store store((dir / "attnlab.db").string());
    return true;
  });
  CHECK_FALSE(wrote);  // the permissions bind for the child: reading worked by not writing
  fs::permissions(dir, fs::perms::owner_all);
  fs::remove_all(dir);
}

TEST_CASE("an old store is migrated when it is opened to read", "[store][bad-input]") {
  const auto path = fresh_db("read_old");
  raw_exec(path, attnlab::store::schema_migrations().at(0) + "PRAGMA user_version = 1;");
  const auto store = attnlab::store::open_store_to_read(path);
  CHECK(store->user_version() == attnlab::store::schema_version());
  CHECK(store->bench_attention().empty());  // a table the migration added
}

TEST_CASE("store errors say what failed on which file; the SQL is only a detail at the end",
          "[store][bad-input]") {
  std::mt19937 rng(std::random_device{}());
  const auto path = store_with_rows("wording", rng);
  Store store(path, Store::ReadOnly{});
  const auto id = store.runs("e").at(0).id;
  const auto what = error_of([&] { store.set_run_status(id, "failed"); });
  const std::string head = path + ": cannot set the status of run " + std::to_string(id) +
                           ": attempt to write a readonly database (";
  CHECK(what.rfind(head, 0) == 0);
  const auto sql = what.find(" [SQL: UPDATE runs SET status");
  CHECK(sql != std::string::npos);
  CHECK(what.find("UPDATE") > sql);  // the SQL appears only in the detail at the end
  CHECK(what.back() == ']');
}
