// Run names: derived from what varies and the seed, never colliding, always safe as a
// directory below the results root; experiment and run name checks.
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "attnlab/spec/run_names.h"

using namespace attnlab;

namespace {

config::ResolvedConfig cell(std::vector<std::string> overrides, int seed) {
  config::ResolvedConfig c;
  c.tree = {{"seed", seed}};
  c.overrides = std::move(overrides);
  return c;
}

}  // namespace

TEST_CASE("names carry every varying key and the seed, never bookkeeping keys", "[spec][names]") {
  const std::vector<config::ResolvedConfig> cells = {
      cell({"attention=dense", "train.log_every=1", "model.n_layer=2"}, 0),
      cell({"attention=gated_window", "train.log_every=5", "model.n_layer=2"}, 0)};
  const auto names = spec::derive_run_names(cells, {});
  REQUIRE(names.size() == 2);
  CHECK(names[0] == "attention=dense,seed=0");
  CHECK(names[1] == "attention=gated_window,seed=0");
}

TEST_CASE("adding seeds adds names; a single cell still names its seed", "[spec][names]") {
  std::mt19937 rng(std::random_device{}());
  const int seed = static_cast<int>(rng() % 100000);
  const auto one = spec::derive_run_names({cell({"attention=dense"}, seed)}, {});
  CHECK(one.at(0) == "seed=" + std::to_string(seed));
  const auto other = spec::derive_run_names({cell({"attention=dense"}, seed + 1)}, {});
  CHECK(one.at(0) != other.at(0));
}

TEST_CASE("overrides that name a run (attnlab train) appear in its name", "[spec][names]") {
  const auto c = cell({"attention=gated_window", "train.lr=0.01", "train.threads=1"}, 3);
  const auto names =
      spec::derive_run_names({c}, {"attention=gated_window", "train.lr=0.01", "train.threads=1"});
  CHECK(names.at(0) == "attention=gated_window,train.lr=0.01,seed=3");
}

TEST_CASE("unsafe characters are replaced and clashes are told apart", "[spec][names]") {
  const std::vector<config::ResolvedConfig> cells = {
      cell({"data.train_files=[a/b.bin]"}, 0), cell({"data.train_files=[a_b.bin]"}, 0),
      cell({"data.train_files=[../../etc]"}, 0)};
  const auto names = spec::derive_run_names(cells, {});
  std::set<std::string> distinct(names.begin(), names.end());
  CHECK(distinct.size() == 3);
  for (const auto& n : names) {
    CHECK_NOTHROW(spec::check_name(n, "run name"));
    CHECK(n.find('/') == std::string::npos);
  }
}

TEST_CASE("cells that differ only in bookkeeping keys are an error", "[spec][names]") {
  const std::vector<config::ResolvedConfig> cells = {cell({"train.log_every=1"}, 0),
                                                     cell({"train.log_every=2"}, 0)};
  CHECK_THROWS_WITH(spec::derive_run_names(cells, {}), Catch::Contains("train.log_every"));
}

TEST_CASE("eval.* never names a run: cells differing only there are an error", "[spec][names]") {
  const auto named = spec::derive_run_names(
      {cell({"attention=dense", "eval.tasks=[val_loss]"}, 1)},
      {"attention=dense", "eval.tasks=[val_loss]", "eval.batches=2"});
  CHECK(named.at(0) == "attention=dense,seed=1");
  const std::vector<config::ResolvedConfig> cells = {cell({"eval.batches=1"}, 0),
                                                     cell({"eval.batches=2"}, 0)};
  CHECK_THROWS_WITH(spec::derive_run_names(cells, {}),
                    Catch::Contains("eval.batches") && Catch::Contains("cannot change a run"));
}

TEST_CASE("long names are bounded and stay distinct", "[spec][names]") {
  const std::string long_value(400, 'x');
  const auto names = spec::derive_run_names(
      {cell({"a=" + long_value + "1"}, 0), cell({"a=" + long_value + "2"}, 0)}, {});
  CHECK(names[0].size() <= spec::kMaxNameLength);
  CHECK(names[1].size() <= spec::kMaxNameLength);
  CHECK(names[0] != names[1]);
}

TEST_CASE("names that are not safe directory names are rejected", "[spec][names]") {
  for (const std::string& bad : std::vector<std::string>{"", "../x", "/abs", "a/b", ".hidden", "tab\there", "nl\n",
                                std::string(spec::kMaxNameLength + 1, 'a'), "a\\b", "x y"}) {
    INFO("name: " << bad);
    CHECK_THROWS_WITH(spec::check_name(bad, "experiment name"), Catch::Contains("use only"));
  }
  for (const std::string& good : std::vector<std::string>{"smoke", "attention=dense,seed=0", "lr=3e-4", "a+b.c-d_e"}) {
    CHECK_NOTHROW(spec::check_name(good, "run name"));
  }
}

TEST_CASE("a run directory is inside the results root", "[spec][names]") {
  const std::filesystem::path root = "/tmp/attnlab-root/runs";
  const auto dir = spec::run_directory(root, "smoke", "attention=dense,seed=0");
  CHECK(dir == root / "smoke" / "attention=dense,seed=0");
  CHECK_THROWS(spec::run_directory(root, "..", "x"));
  CHECK_THROWS(spec::run_directory(root, "smoke", "../../etc"));
}
