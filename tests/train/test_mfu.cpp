// MFU logging: train/mfu of every step against FLOPs/token x tokens/s / peak computed here from
// the run's own records, with a declared peak and with the probe (measured once, then cached
// in peak_flops.json beside the results db).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attnlab/store/store.h"
#include "train_fixture.h"

using namespace attnlab;
using namespace attnlab::test;

namespace {

double info(const store::Store& s, int64_t run_id, const std::string& key) {
  const auto all = s.run_info(run_id);
  REQUIRE(all.count(key));
  return nlohmann::json::parse(all.at(key)).get<double>();
}

// Every step's train/mfu equals flops_per_token * train/tokens_per_s / peak; the mean too.
void check_mfu(const fs::path& db, double peak) {
  store::Store s(db.string());
  const auto run = s.runs("smoke").front();
  const double flops_per_token = info(s, run.id, "flops_per_token");
  CHECK(info(s, run.id, "peak_flops") == Approx(peak).epsilon(1e-12));
  const auto mfu = s.metric(run.id, "train/mfu");
  const auto tokens_per_s = s.metric(run.id, "train/tokens_per_s");
  REQUIRE(mfu.size() == static_cast<size_t>(kSteps));
  REQUIRE(tokens_per_s.size() == mfu.size());
  for (size_t i = 0; i < mfu.size(); ++i) {
    INFO("step " << mfu[i].step);
    CHECK(mfu[i].step == tokens_per_s[i].step);
    CHECK(mfu[i].value > 0);
    CHECK(mfu[i].value == Approx(flops_per_token * tokens_per_s[i].value / peak).epsilon(1e-9));
  }
  CHECK(info(s, run.id, "mfu_mean") ==
        Approx(flops_per_token * info(s, run.id, "tokens_per_s_mean") / peak).epsilon(1e-9));
}

}  // namespace

TEST_CASE("train/mfu against a declared peak (train.peak_flops)", "[train][mfu]") {
  TrainSetup setup;
  setup.dir = fresh_dir("mfu_declared");
  setup.overrides = {"train.peak_flops=2.5e9"};
  const auto out = run_training_ok(setup);
  CHECK(out.out.find("peak FLOP/s: 2.5e+09 (declared)") != std::string::npos);
  CHECK(out.out.find("% |") != std::string::npos);  // "MFU x.x%" on the progress lines
  CHECK_FALSE(fs::exists(setup.dir / "peak_flops.json"));
  check_mfu(setup.db(), 2.5e9);
}

TEST_CASE("train.peak_flops=0 probes the peak once and caches it beside the db", "[train][mfu]") {
  TrainSetup setup;
  setup.dir = fresh_dir("mfu_probe");
  setup.overrides = {"train.peak_flops=0"};
  const auto first = run_training_ok(setup);
  CHECK(first.out.find("measuring a 2048^3 matmul probe") != std::string::npos);
  const auto cache_file = setup.dir / "peak_flops.json";
  REQUIRE(fs::exists(cache_file));
  const auto cache = nlohmann::json::parse(std::ifstream(cache_file));
  REQUIRE(cache.size() == 1);
  const double peak = cache.begin().value().get<double>();
  // A measurement, not a speed target: a loaded machine may be arbitrarily slow.
  CHECK(std::isfinite(peak));
  CHECK(peak > 0);
  CHECK(cache.begin().key().find("/cpu/Float/threads=1") != std::string::npos);
  check_mfu(setup.db(), peak);

  // The next run (of another experiment, beside the same db) reads the cache, not probing again.
  setup.overrides.push_back("experiment.name=cached");
  const auto second = run_training_ok(setup);
  CHECK(second.out.find("(cached in") != std::string::npos);
  CHECK(second.out.find("measuring") == std::string::npos);
}
