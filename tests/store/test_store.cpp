// Tests of attnlab::store::Store against a fresh database file per test case: schema and
// forward migrations, experiment/run upserts, the claim race between two connections,
// metrics that replace rather than duplicate, resume deletion, JSON checks, bench rows; and
// bad input (test_bad_input.cpp): paths, damaged files, read-only opens, error wording.
#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "attnlab/store/store.h"
#include "store_test_util.h"

using attnlab::store::Store;
using attnlab::store::StoreError;
using namespace attnlab::store::test;

TEST_CASE("a new store creates every table and the latest schema version") {
  auto path = fresh_db("create");
  Store store(path);
  CHECK(fs::exists(path));
  CHECK(store.path() == path);
  CHECK(attnlab::store::schema_version() >= 2);
  CHECK(store.user_version() == attnlab::store::schema_version());
  CHECK(raw_user_version(path) == attnlab::store::schema_version());
  for (const char* table : {"experiments", "runs", "metrics", "evals", "artifacts", "run_info",
                            "bench_attention", "bench_train"}) {
    INFO(table);
    // Selecting from a missing table fails; an empty existing one succeeds.
    raw_exec(path, std::string("SELECT count(*) FROM ") + table);
  }
  Store again(path);  // reopening an up-to-date file is a no-op
  CHECK(again.user_version() == attnlab::store::schema_version());
}

TEST_CASE("an old database is migrated forward and keeps its rows") {
  auto path = fresh_db("migrate");
  fs::create_directories(fs::path(path).parent_path());
  raw_exec(path, attnlab::store::schema_migrations().at(0) + "PRAGMA user_version = 1;" +
                     "INSERT INTO experiments (name, created_at) VALUES ('old_exp', 'then');");
  REQUIRE(raw_user_version(path) == 1);
  Store store(path);
  CHECK(store.user_version() == attnlab::store::schema_version());
  CHECK(store.experiments() == std::vector<std::string>{"old_exp"});
  attnlab::store::BenchTrainRecord row{"smoke", "dense", 256, 4,     1234.5,
                                       80.0,    1 << 20, 0.1, "cpu", ""};
  store.add_bench_train(row);  // the table migration 2 added
  CHECK(store.bench_train().size() == 1);
}

TEST_CASE("a version-2 database gains bench_attention.extra_bytes; its rows read as unmeasured") {
  auto path = fresh_db("migrate2");
  fs::create_directories(fs::path(path).parent_path());
  const auto& m = attnlab::store::schema_migrations();
  raw_exec(path, m.at(0) + m.at(1) + "PRAGMA user_version = 2;" +
                     "INSERT INTO bench_attention (plugin, seq, batch, heads, head_dim, dtype, "
                     "fwd_ms, fwdbwd_ms, peak_bytes, gflops, device, created_at) VALUES "
                     "('dense', 512, 1, 12, 64, 'fp32', 1.0, 3.0, 4096, 20.0, 'cpu', 'then');");
  Store store(path);
  CHECK(store.user_version() == attnlab::store::schema_version());
  const auto rows = store.bench_attention();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].peak_bytes == 4096);
  CHECK(rows[0].extra_bytes == -1);
}

TEST_CASE("a database newer than the code is a clear error") {
  auto path = fresh_db("newer");
  { Store store(path); }
  raw_exec(path, "PRAGMA user_version = " + std::to_string(attnlab::store::schema_version() + 1));
  try {
    Store store(path);
    FAIL("opening a newer database must throw");
  } catch (const StoreError& e) {
    std::string what = e.what();
    CHECK(what.find(path) != std::string::npos);
    CHECK(what.find("newer") != std::string::npos);
  }
}

TEST_CASE("a file that is not a database is a clear error") {
  auto path = fresh_db("garbage");
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "this is not sqlite, just text that is long enough to have a header.....";
  try {
    Store store(path);
    FAIL("opening a non-database must throw");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(std::string(e.what()).find("not an attnlab SQLite database") != std::string::npos);
  }
}

TEST_CASE("experiments upsert by name and runs are created once") {
  Store store(fresh_db("upsert"));
  int64_t id1 = store.upsert_experiment("abl", "experiments/abl.yaml", R"({"a":1})");
  int64_t id2 = store.upsert_experiment("abl", "experiments/abl2.yaml", R"({"a":2})");
  CHECK(id1 == id2);
  CHECK(store.experiment_spec_json("abl") == R"({"a":2})");
  store.upsert_experiment("other", "x.yaml", "{}");
  CHECK(store.experiments() == std::vector<std::string>{"abl", "other"});

  auto r = store.get_or_create_run("abl", "seed=3", "dense", 3, R"({"seed":3})", "seed: 3\n",
                                   R"(["seed=3"])", "abc123");
  CHECK(r.id > 0);
  CHECK(r.status == "pending");
  CHECK(r.experiment == "abl");
  CHECK(r.variant == "dense");
  CHECK(r.seed == 3);
  CHECK(r.config_yaml == "seed: 3\n");
  CHECK(r.code_version == "abc123");
  CHECK_FALSE(r.created_at.empty());
  // The same (experiment, name) returns the stored run unchanged.
  auto again = store.get_or_create_run("abl", "seed=3", "gated", 9, R"({"seed":9})", "", "[]", "x");
  CHECK(again.id == r.id);
  CHECK(again.variant == "dense");
  CHECK(again.config_json == R"({"seed":3})");
  // The same name in another experiment is another run; unknown experiments are created.
  auto other = store.get_or_create_run("new_exp", "seed=3", "dense", 3, "{}", "", "[]", "x");
  CHECK(other.id != r.id);
  CHECK(store.has_experiment("new_exp"));
  CHECK(store.runs("abl").size() == 1);
  CHECK(store.run(r.id).name == "seed=3");
  CHECK_THROWS_AS(store.run(987654), StoreError);
}

TEST_CASE("claim_run moves only claimable runs to running") {
  Store store(fresh_db("claim"));
  auto r = store.get_or_create_run("e", "r", "dense", 0, "{}", "", "[]", "v");
  CHECK(store.claim_run(r.id, "host:1"));
  auto claimed = store.run(r.id);
  CHECK(claimed.status == "running");
  CHECK(claimed.owner == "host:1");
  CHECK_FALSE(claimed.started_at.empty());
  CHECK_FALSE(claimed.heartbeat_at.empty());
  CHECK_FALSE(store.claim_run(r.id, "host:2"));  // running elsewhere
  store.set_run_status(r.id, "preempted", "SIGTERM");
  CHECK(store.run(r.id).message == "SIGTERM");
  CHECK_FALSE(store.run(r.id).finished_at.empty());
  CHECK(store.claim_run(r.id, "host:2"));  // preempted runs resume
  CHECK(store.run(r.id).owner == "host:2");
  CHECK(store.run(r.id).finished_at.empty());
  store.set_run_status(r.id, "failed", "nan loss");
  CHECK(store.claim_run(r.id, "host:3"));  // failed runs retry
  store.set_run_status(r.id, "finished");
  CHECK_FALSE(store.claim_run(r.id, "host:4"));  // finished runs are skipped
  CHECK(store.run(r.id).status == "finished");
  CHECK_THROWS_WITH(store.set_run_status(r.id, "done"),
                    Catch::Contains("unknown run status 'done'"));
  CHECK_THROWS_AS(store.claim_run(424242, "x"), StoreError);
  CHECK_THROWS_AS(store.heartbeat(424242), StoreError);
}

TEST_CASE("two connections racing claim_run: exactly one wins each run") {
  auto path = fresh_db("race");
  std::vector<int64_t> ids;
  {
    Store setup(path);
    for (int i = 0; i < 40; ++i) {
      ids.push_back(
          setup
              .get_or_create_run("race", "run" + std::to_string(i), "dense", i, "{}", "", "[]", "v")
              .id);
    }
  }
  std::atomic<int> wins_a{0}, wins_b{0};
  auto worker = [&](const std::string& owner, std::atomic<int>& wins) {
    Store store(path);  // its own connection, as a second process would have
    for (int64_t id : ids) {
      if (store.claim_run(id, owner)) ++wins;
    }
  };
  std::thread a(worker, "A", std::ref(wins_a));
  std::thread b(worker, "B", std::ref(wins_b));
  a.join();
  b.join();
  CHECK(wins_a + wins_b == static_cast<int>(ids.size()));
  Store check(path);
  int owned_a = 0;
  for (const auto& run : check.runs("race")) {
    CHECK(run.status == "running");
    owned_a += run.owner == "A";
  }
  CHECK(owned_a == wins_a);
}

TEST_CASE("metrics: re-logging a step replaces the value, never duplicates it") {
  Store store(fresh_db("metrics"));
  auto r = store.get_or_create_run("e", "r", "dense", 0, "{}", "", "[]", "v");
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.5, 9.0);
  std::vector<double> loss(20);
  for (int step = 0; step < 20; ++step) {
    loss[step] = u(rng);
    store.log_metrics(r.id, step, {{"train/loss", u(rng)}, {"train/lr", u(rng)}});
    store.log_metrics(r.id, step, {{"train/loss", loss[step]}});  // replaces
  }
  auto points = store.metric(r.id, "train/loss");
  REQUIRE(points.size() == 20);
  for (int step = 0; step < 20; ++step) {
    CHECK(points[step].step == step);
    CHECK(points[step].value == loss[step]);
  }
  CHECK(store.metric(r.id, "train/lr").size() == 20);
  CHECK(store.metric_names(r.id) == std::vector<std::string>{"train/loss", "train/lr"});
  CHECK(store.metric(r.id, "val/loss").empty());
  // A diverged run logs NaN; SQLite keeps it as NULL, and it must read back as NaN, not 0.
  store.log_metrics(r.id, 20, {{"val/loss", std::nan("")}, {"val/other", INFINITY}});
  REQUIRE(store.metric(r.id, "val/loss").size() == 1);
  CHECK(std::isnan(store.metric(r.id, "val/loss")[0].value));
  CHECK(std::isinf(store.metric(r.id, "val/other")[0].value));
  store.delete_metrics_after(r.id, 19);

  store.log_eval(r.id, 5, "gate_mean", "[[0.1,0.2],[0.3,0.4]]");
  store.log_eval(r.id, 15, "gate_mean", "[[0.5,0.6],[0.7,0.8]]");
  store.log_eval(r.id, 15, "gate_mean", "[[0.9,0.6],[0.7,0.8]]");  // replaces
  REQUIRE(store.evals(r.id, "gate_mean").size() == 2);
  CHECK(store.evals(r.id, "gate_mean")[1].value_json == "[[0.9,0.6],[0.7,0.8]]");

  store.delete_metrics_after(r.id, 9);  // resume from step 9
  points = store.metric(r.id, "train/loss");
  REQUIRE(points.size() == 10);
  CHECK(points.back().step == 9);
  CHECK(points.back().value == loss[9]);
  CHECK(store.evals(r.id, "gate_mean").size() == 1);
}

TEST_CASE("run facts, artifacts and JSON checks") {
  Store store(fresh_db("info"));
  auto r = store.get_or_create_run("e", "r", "dense", 0, "{}", "", "[]", "v");
  store.set_run_info(r.id, "n_params", "123456");
  store.set_run_info(r.id, "plugin", R"({"name":"dense","version":"1"})");
  store.set_run_info(r.id, "n_params", "654321");
  auto info = store.run_info(r.id);
  CHECK(info.size() == 2);
  CHECK(info.at("n_params") == "654321");
  store.add_artifact(r.id, "checkpoint", "results/e/r/step_10.pt", "ab12");
  store.add_artifact(r.id, "checkpoint", "results/e/r/step_10.pt", "cd34");
  REQUIRE(store.artifacts(r.id).size() == 1);
  CHECK(store.artifacts(r.id)[0].sha256 == "cd34");
  CHECK_THROWS_WITH(store.set_run_info(r.id, "device", "cpu"), Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(store.log_eval(r.id, 1, "x", "{bad"), Catch::Contains("eval 'x'"));
  CHECK_THROWS_AS(store.get_or_create_run("e", "r2", "dense", 0, "{", "", "[]", "v"), StoreError);
}

TEST_CASE("bench rows round-trip") {
  Store store(fresh_db("bench"));
  attnlab::store::BenchAttentionRecord a{"gated_window", 1024,      2,    8,     64, "float32", 1.5,
                                         4.25,           123456789, 17.5, "cpu", ""};
  store.add_bench_attention(a);
  a.seq = 2048;
  store.add_bench_attention(a);
  auto rows = store.bench_attention();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].plugin == "gated_window");
  CHECK(rows[0].seq == 1024);
  CHECK(rows[1].seq == 2048);
  CHECK(rows[0].fwdbwd_ms == 4.25);
  CHECK(rows[0].peak_bytes == 123456789);
  CHECK(rows[0].extra_bytes == -1);  // not measured: stored as NULL
  CHECK_FALSE(rows[0].created_at.empty());
  a.extra_bytes = 98765;
  store.add_bench_attention(a);
  CHECK(store.bench_attention().at(2).extra_bytes == 98765);
}
