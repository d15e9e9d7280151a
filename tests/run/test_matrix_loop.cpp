// The matrix loop: several cells in one invocation, a failed cell followed by the next (exit
// code 1, the failure recorded, a re-run retrying only it), and `attnlab train`'s one-cell guard.
#include <catch2/catch.hpp>

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
