// Run identity through the CLI: seeds and arms add runs instead of colliding, `attnlab train`
// names its run by its overrides, a changed data-path spelling is not a changed config, and
// no experiment name can put a run directory outside the results root.
#include <catch2/catch.hpp>

#include <set>

#include "run_test_util.h"

using namespace attnlab;
using namespace attnlab::test;

namespace {

std::set<std::string> names_of(const std::vector<store::RunRecord>& runs) {
  std::set<std::string> names;
  for (const auto& r : runs) names.insert(r.name);
  return names;
}

}  // namespace

TEST_CASE("seed=0 then seed=1 adds runs; two arms of one plugin are two runs", "[run][identity]") {
  const auto dir = fresh_run_dir("seeds");
  const auto db = dir / "x.db";
  run_cli_ok(small_run_args("run", db, {"attention=dense,fixed_window", "seed=0"}));
  run_cli_ok(small_run_args("run", db, {"attention=dense,fixed_window", "seed=1"}));
  const auto runs = stored_runs(db, "smoke");
  CHECK(names_of(runs) == std::set<std::string>{"attention=dense,seed=0", "attention=dense,seed=1",
                                                "attention=fixed_window,seed=0",
                                                "attention=fixed_window,seed=1"});
  for (const auto& r : runs) CHECK(r.status == "finished");

  run_cli_ok(small_run_args(
      "run", db, {"attention=fixed_window", "attention.options.window=8,16", "experiment.name=win"}));
  CHECK(names_of(stored_runs(db, "win")) ==
        std::set<std::string>{"attention=fixed_window,attention.options.window=8,seed=0",
                              "attention=fixed_window,attention.options.window=16,seed=0"});
}

TEST_CASE("attnlab train names its run by its overrides", "[run][identity]") {
  const auto dir = fresh_run_dir("train_name");
  const auto db = dir / "x.db";
  run_cli_ok(small_run_args("train", db, {"attention=gated_window", "seed=4"}));
  const auto runs = stored_runs(db, "smoke");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].name.find("attention=gated_window") == 0);
  CHECK(runs[0].name.find("model.d_model=32") != std::string::npos);
  CHECK(runs[0].name.find("train.threads") == std::string::npos);  // bookkeeping
  CHECK(runs[0].name.size() >= 7);
  CHECK(runs[0].name.substr(runs[0].name.size() - 7) == ",seed=4");
}

TEST_CASE("a data file spelled another way is not a changed config", "[run][identity]") {
  const auto dir = fresh_run_dir("spelling");
  const auto db = dir / "x.db";
  const auto shard = std::string(ATTNLAB_SHARED_DIR) +
                     "/data/fineweb/reference/fineweb-sample-300.gpt2.bin";
  const auto spelled = std::string(ATTNLAB_SHARED_DIR) +
                       "/data/fineweb/../fineweb/reference/fineweb-sample-300.gpt2.bin";
  run_cli_ok(small_run_args("run", db, {"attention=dense", "data.train_files=[" + shard + "]"}));
  const auto b = run_cli(cli(small_run_args("run", db, {"attention=dense", "data.train_files=[" + spelled + "]"})));
  INFO(transcript_of(b));
  CHECK(b.exit_code == 0);
  CHECK(b.out.find("1 finished already, 0 to run") != std::string::npos);
  // A real change is still refused, naming it.
  const auto c = run_cli(cli(small_run_args("run", db, {"attention=dense", "train.lr=0.0123"})));
  CHECK(c.exit_code != 0);
  CHECK(c.err.find("train.lr: 0.003 -> 0.0123") != std::string::npos);
}

TEST_CASE("experiment names cannot leave the results root", "[run][identity][security]") {
  const auto dir = fresh_run_dir("escape");
  const auto db = dir / "results" / "x.db";
  for (const std::string bad : {"../../escaped", "/tmp/attnlab_escaped", "a/../../b"}) {
    const auto outcome = run_cli(cli(small_run_args("run", db, {"attention=dense", "experiment.name=" + bad})));
    INFO(transcript_of(outcome));
    CHECK(outcome.exit_code != 0);
    CHECK(outcome.err.find("experiment.name") != std::string::npos);
    CHECK(outcome.err.find("use only") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "escaped"));
  CHECK_FALSE(fs::exists("/tmp/attnlab_escaped"));
  CHECK_FALSE(fs::exists(db));  // rejected before the store was opened
}
