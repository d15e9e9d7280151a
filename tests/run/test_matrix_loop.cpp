// The matrix loop: several cells in one invocation, a failed cell followed by the next (exit
// code 1, the failure recorded, a re-run retrying only it), a cell claimed by another live
// process skipped while the next is trained (and reclaimed once that process is gone), and
// `attnlab train`'s one-cell guard.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "attnlab/run/run_owner.h"
#include "run_test_util.h"

using namespace attnlab;
using namespace attnlab::test;

TEST_CASE("a failed cell does not stop the next; a re-run retries only it", "[run][matrix]") {
  const auto dir = fresh_run_dir("matrix_failure");
  const auto db = dir / "x.db";
  // Cell 1 makes its step 1 loss NaN under the halt policy; cell 2 trains normally.
  const auto args = small_run_args(
      "run", db, {"attention=dense", "train.nonfinite=halt", "train.inject_nonfinite_step=1,-1"}, 3);
  const auto first = run_cli(cli(args));
  INFO(transcript_of(first));
  CHECK(first.exit_code == 1);
  CHECK(first.out.find("[1/2]") != std::string::npos);
  CHECK(first.out.find("[2/2]") != std::string::npos);
  CHECK(first.out.find("1 trained") != std::string::npos);
  CHECK(first.out.find("1 failed") != std::string::npos);
  const auto runs = stored_runs(db, "smoke");
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].name == "attention=dense,train.inject_nonfinite_step=1,seed=0");
  CHECK(runs[0].status == "failed");
  CHECK_FALSE(runs[0].message.empty());
  CHECK(runs[1].status == "finished");

  const auto again = run_cli(cli(args));
  INFO(transcript_of(again));
  CHECK(again.exit_code == 1);
  CHECK(again.out.find("1 finished already, 1 to run") != std::string::npos);
}

namespace {

// The pid of a process that has exited (and been reaped): no process has it for now.
pid_t a_gone_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

}  // namespace

TEST_CASE("a cell a live process is training is skipped, the next is trained", "[run][matrix]") {
  const auto dir = fresh_run_dir("matrix_claimed");
  const auto db = dir / "x.db";
  const auto args = small_run_args("run", db, {"attention=dense,fixed_window"});
  run_cli_ok(args);
  auto runs = stored_runs(db, "smoke");
  REQUIRE(runs.size() == 2);
  // Cell 1: this test process (alive, on this host) trains it; its heartbeat is an hour old,
  // which does not matter on this host. Cell 2 failed earlier and is to be run again.
  set_run_owner(db, runs[0].id, "running", run::owner_id(), "-1 hours");
  set_run_owner(db, runs[1].id, "failed", "", "-1 hours");
  const auto second = run_cli(cli(args));
  INFO(transcript_of(second));
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("[1/2] " + runs[0].name + ": claimed by another process, skipped") !=
        std::string::npos);
  CHECK(second.out.find("[2/2] " + runs[1].name + ": training") != std::string::npos);
  CHECK(second.out.find("1 trained") != std::string::npos);
  runs = stored_runs(db, "smoke");
  CHECK(runs[0].status == "running");
  CHECK(runs[0].owner == run::owner_id());
  CHECK(runs[1].status == "finished");

  // Its owner is gone: the next run reclaims it and trains it.
  set_run_owner(db, runs[0].id, "running", run::owner_id(a_gone_pid()), "-1 seconds");
  const auto third = run_cli(cli(args));
  INFO(transcript_of(third));
  CHECK(third.exit_code == 0);
  CHECK(third.out.find("[1/1] " + runs[0].name + ": training") != std::string::npos);
  CHECK(stored_runs(db, "smoke")[0].status == "finished");
}

TEST_CASE("attnlab train refuses a sweep, naming the cell count", "[run][matrix]") {
  const auto dir = fresh_run_dir("train_guard");
  const auto db = dir / "x.db";
  const auto outcome = run_cli(cli(small_run_args("train", db, {"attention=dense", "seed=0,1,2"})));
  INFO(transcript_of(outcome));
  CHECK(outcome.exit_code != 0);
  CHECK(outcome.err.find("make 3 cells") != std::string::npos);
  CHECK(outcome.err.find("attnlab run") != std::string::npos);
  CHECK_FALSE(fs::exists(db));
}
