// A finished run is neither silently kept for another config nor overwritten by one: re-running
// it after its experiment file changed stops with the difference named; --restart replaces it,
// storing the new config and metrics. Another seed is another run, added beside it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "train_fixture.h"

using namespace attnlab;
using namespace attnlab::test;

TEST_CASE("a finished run re-run with another config is refused; --restart replaces it",
          "[train][config]") {
  TrainSetup setup;
  setup.dir = fresh_dir("finished_other_config");
  setup.experiment = write_smoke_with_lr(setup.dir, "0.003");
  run_training_ok(setup);
  const auto before = read_store(setup.db());
  REQUIRE(before.run.status == "finished");
  REQUIRE(before.run.seed == 0);

  // The same arguments: nothing to do.
  const auto again = run_training(setup);
  INFO(transcript(again));
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("1 finished already, 0 to run") != std::string::npos);

  // The experiment file changed under the same run name: refused, naming the key, the values
  // and the ways out.
  write_smoke_with_lr(setup.dir, "0.002");
  const auto refused = run_training(setup);
  INFO(transcript(refused));
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("'smoke/" + before.run.name + "' finished with another config") !=
        std::string::npos);
  CHECK(refused.err.find("train.lr: 0.003 -> 0.002") != std::string::npos);
  CHECK(refused.err.find("experiment.name=") != std::string::npos);
  CHECK(refused.err.find("--restart") != std::string::npos);
  const auto kept = read_store(setup.db());
  CHECK(kept.run.status == "finished");
  CHECK(kept.run.config_json == before.run.config_json);
  CHECK(recording_differences(before, kept) == "");

  // --restart trains the new config in its place.
  setup.flags = {"--restart"};
  run_training_ok(setup);
  const auto after = read_store(setup.db());
  CHECK(after.run.status == "finished");
  CHECK(after.run.name == before.run.name);
  const auto config = nlohmann::json::parse(after.run.config_json);
  CHECK(config.at("train").at("lr") == 0.002);
  CHECK(has_every_step_once(after.metrics.at("train/loss"), kSteps));
  // Another learning rate: the second step's loss is not the old run's.
  CHECK(after.metrics.at("train/loss")[1].value != before.metrics.at("train/loss")[1].value);
}

TEST_CASE("another seed adds a run beside the finished one", "[train][config]") {
  TrainSetup setup;
  setup.dir = fresh_dir("finished_other_seed");
  run_training_ok(setup);
  setup.overrides = {"seed=1"};
  run_training_ok(setup);
  const auto runs = store::Store(setup.db().string()).runs("smoke");
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].seed == 0);
  CHECK(runs[1].seed == 1);
  CHECK(runs[0].name != runs[1].name);
  CHECK(runs[0].status == "finished");
  CHECK(runs[1].status == "finished");
}
