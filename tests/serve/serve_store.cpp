// Builds the serve tests' store (see serve_store.h).
#include "serve_store.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

namespace attnlab::serve::testing {

namespace fs = std::filesystem;

namespace {

int64_t add_run(store::Store& store, const std::string& variant, int64_t seed) {
  const nlohmann::json config = {
      {"seed", seed}, {"attention", {{"variant", variant}}}, {"train", {{"steps", kTotalSteps}}}};
  const auto run =
      store.get_or_create_run(kExperiment, "attention=" + variant + ",seed=" + std::to_string(seed),
                              variant, seed, config.dump(), "", "[]", "abc1234");
  store.claim_run(run.id, "test");  // running, with a heartbeat
  return run.id;
}

}  // namespace

void log_progress(store::Store& store, int64_t run_id, int64_t from, int64_t to, double base_loss) {
  std::mt19937 rng(static_cast<unsigned>(run_id * 7919 + from));
  std::uniform_real_distribution<double> jitter(-0.05, 0.05), step_time(0.2, 0.4);
  for (int64_t done = from + 1; done <= to; ++done) {
    if (done % kLogEvery != 0) continue;
    const int64_t step = done - 1;  // the store's 0-based step index
    const double progress = 1.0 - static_cast<double>(done) / kTotalSteps;
    store.log_metrics(run_id, step,
                      {{"train/loss", base_loss + 2.0 * progress + jitter(rng)},
                       {"train/step_time_s", step_time(rng)}});
    if (done % kEvalEvery == 0) {
      store.log_metrics(run_id, step, {{"val/loss", base_loss + 1.5 * progress + jitter(rng)}});
    }
  }
}

ServeStore make_serve_store(const std::string& tag) {
  const fs::path dir = fs::path(ATTNLAB_BINARY_DIR) / "test_tmp" / "serve" / tag;
  fs::remove_all(dir);
  fs::create_directories(dir);
  ServeStore out{(dir / "attnlab.db").string()};
  store::Store store(out.db_path);
  store.upsert_experiment(kExperiment, "experiments/serve_test.yaml", "{}");
  std::mt19937 rng(std::hash<std::string>{}(tag) % 1000 + 3);
  std::uniform_real_distribution<double> centre(-0.1, 0.1);
  for (const auto& [variant, base] : {std::pair{"dense", 3.3}, std::pair{"gated_window", 3.2}}) {
    for (int64_t seed = 0; seed < 2; ++seed) {
      const int64_t id = add_run(store, variant, seed);
      log_progress(store, id, 0, kTotalSteps, base + centre(rng));
      store.set_run_status(id, "finished");
    }
  }
  out.running_id = add_run(store, "dense", 2);
  log_progress(store, out.running_id, 0, kRunningStep, 3.3 + centre(rng));
  out.failed_id = add_run(store, "gated_window", 2);
  log_progress(store, out.failed_id, 0, kFailedStep, 3.2 + centre(rng));
  store.set_run_status(out.failed_id, "failed", kFailedMessage);
  return out;
}

}  // namespace attnlab::serve::testing
