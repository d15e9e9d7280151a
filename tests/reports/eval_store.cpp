// Builds the evaluation store of the report tests (see eval_store.h).
#include "eval_store.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "attnlab/store/store.h"
#include "synthetic_store.h"

namespace attnlab::reports::testing {

namespace {

using json = nlohmann::json;

// Writes one seed's eval rows at step kLastStep (val_loss also at an earlier step with other
// values) and returns what it wrote.
SeedEvals log_seed(store::Store& store, int64_t run_id, bool rolling, std::mt19937& rng) {
  std::uniform_real_distribution<double> loss(2.0, 4.0), speed(200.0, 2000.0);
  std::uniform_int_distribution<int> count(0, 40);
  SeedEvals e{};
  e.loss = loss(rng);
  e.perplexity = std::exp(e.loss);
  store.log_eval(run_id, 10, "eval/val_loss",
                 json{{"loss", 9.0}, {"perplexity", 8103.08}, {"tokens", 1}}.dump());
  store.log_eval(run_id, kLastStep, "eval/val_loss",
                 json{{"loss", e.loss}, {"perplexity", e.perplexity}, {"tokens", 8192}}.dump());

  std::vector<int64_t> ends, tokens;
  for (const int64_t start : kBucketStarts) {
    ends.push_back(start + 32);
    tokens.push_back(32 * 16);
    e.position_loss.push_back(loss(rng));
  }
  store.log_eval(run_id, kLastStep, "eval/position_loss",
                 json{{"bucket_start", kBucketStarts},
                      {"bucket_end", ends},
                      {"loss", e.position_loss},
                      {"tokens", tokens}}
                     .dump());

  std::vector<int> correct, total;
  int all_correct = 0, all_total = 0;
  for (size_t g = 0; g < kGaps.size(); ++g) {
    correct.push_back(count(rng));
    total.push_back(40);
    e.mqar_accuracy.push_back(correct.back() / 40.0);
    all_correct += correct.back();
    all_total += 40;
  }
  e.mqar_overall = static_cast<double>(all_correct) / all_total;
  store.log_eval(run_id, kLastStep, "eval/mqar",
                 json{{"gaps", kGaps},
                      {"accuracy", e.mqar_accuracy},
                      {"correct", correct},
                      {"total", total},
                      {"overall", e.mqar_overall}}
                     .dump());

  for (size_t l = 0; l < kPasskeyLengths.size(); ++l) {
    e.passkey.emplace_back();
    for (size_t d = 0; d < kPasskeyDepths.size(); ++d) e.passkey[l].push_back(count(rng) / 40.0);
  }
  store.log_eval(run_id, kLastStep, "eval/passkey",
                 json{{"lengths", kPasskeyLengths},
                      {"depths", kPasskeyDepths},
                      {"accuracy", e.passkey},
                      {"trials", 40}}
                     .dump());

  e.tokens_per_s = speed(rng);
  e.cache_bytes_per_token = 512.0 * (1 + count(rng) % 4);
  e.cache_peak_bytes = e.cache_bytes_per_token * (64 + count(rng));
  store.log_eval(run_id, kLastStep, "eval/generation",
                 json{{"tokens_per_s", e.tokens_per_s},
                      {"cache_bytes_per_token", static_cast<int64_t>(e.cache_bytes_per_token)},
                      {"cache_peak_bytes", static_cast<int64_t>(e.cache_peak_bytes)},
                      {"prompt_tokens", 32},
                      {"new_tokens", 64},
                      {"rolling", rolling}}
                     .dump());
  return e;
}

}  // namespace

EvalExperiment make_eval_store(const std::string& tag, std::mt19937& rng) {
  EvalExperiment out;
  out.name = "eval_" + tag;
  out.db_path = fresh_store_path(tag);
  store::Store store(out.db_path);
  store.upsert_experiment(out.name, "experiments/" + out.name + ".yaml", "{}");
  std::uniform_real_distribution<double> final_loss(3.0, 3.5);
  for (int64_t seed = 0; seed < 2; ++seed) {
    for (const auto& arm : kEvalArms) {
      add_finished_run(store, out.name, arm, seed, {{"attention", {{"variant", arm}}}},
                       final_loss(rng), std::nullopt);
      const int64_t id = store.runs(out.name).back().id;
      out.run_ids[arm].push_back(id);
      out.seeds[arm].push_back(log_seed(store, id, arm == "fixed_window", rng));
    }
  }
  add_finished_run(store, out.name, "gated_window", 0,
                   {{"attention", {{"variant", "gated_window"}}}}, final_loss(rng), std::nullopt);
  return out;
}

}  // namespace attnlab::reports::testing
