// Heartbeats: the owner of a running run refreshes its heartbeat while it trains; a run whose
// owner was killed is reclaimed by the next `run`; a run owned on another host is left alone
// while its heartbeat is fresh and reclaimed once it is stale.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>

#include "run_test_util.h"

using namespace attnlab;
using namespace attnlab::test;

TEST_CASE("the owner keeps the heartbeat fresh; a killed owner's run is reclaimed", "[run][heartbeat]") {
  const auto dir = fresh_run_dir("heartbeat");
  const auto db = dir / "x.db";
  auto run = cli(small_run_args("run", db, {"attention=dense", "train.log_every=1"}, 1000000));
  run.env = {{"ATTNLAB_HEARTBEAT_S", "1"}};
  run.signal = SIGKILL;
  const auto t0 = std::chrono::steady_clock::now();
  double age_while_training = -1;
  run.when = [&](const std::string& line) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (progress_step(line) < 0 || elapsed < 4.0) return false;
    const store::Store store(db.string(), store::Store::ReadOnly{});
    const auto runs = store.runs("smoke");
    age_while_training = store.heartbeat_age_s(runs.at(0).id);
    return true;
  };
  const auto killed = run_cli(run);
  INFO(transcript_of(killed));
  REQUIRE(killed.signal_sent);
  CHECK(age_while_training >= 0);
  CHECK(age_while_training < 2.5);  // refreshed every second while it trained (4 s and more)
  REQUIRE(stored_runs(db, "smoke").at(0).status == "running");

  auto resume_args = small_run_args("run", db, {"attention=dense"});
  resume_args.push_back("--restart");
  const auto resumed = run_cli(cli(resume_args));
  INFO(transcript_of(resumed));
  CHECK(resumed.exit_code == 0);
  CHECK(stored_runs(db, "smoke").at(0).status == "finished");
}

TEST_CASE("a run owned on another host is reclaimed only once its heartbeat is stale", "[run][heartbeat]") {
  const auto dir = fresh_run_dir("heartbeat_remote");
  const auto db = dir / "x.db";
  const auto args = small_run_args("run", db, {"attention=dense"});
  run_cli_ok(args);
  const auto id = stored_runs(db, "smoke").at(0).id;

  auto restart = args;
  restart.push_back("--restart");
  set_run_owner(db, id, "running", "another-host.example:4242", "-5 seconds");
  const auto fresh = run_cli(cli(restart));
  INFO(transcript_of(fresh));
  CHECK(fresh.out.find("claimed by another process, skipped") != std::string::npos);
  CHECK(stored_runs(db, "smoke").at(0).owner == "another-host.example:4242");

  set_run_owner(db, id, "running", "another-host.example:4242", "-1 hours");
  const auto stale = run_cli(cli(restart));
  INFO(transcript_of(stale));
  CHECK(stale.exit_code == 0);
  const auto after = stored_runs(db, "smoke").at(0);
  CHECK(after.status == "finished");
  CHECK(after.owner != "another-host.example:4242");
}
