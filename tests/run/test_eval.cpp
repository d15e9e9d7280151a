// Evaluation of runs (attnlab/run/eval_runs.h, `attnlab eval`): a tiny run trained by the CLI
// is evaluated right after training, and `attnlab eval` by name and by checkpoint path stores
// rows equal to evaluate() called here on the loaded checkpoint; a task a run cannot do keeps
// the run finished and is recorded; bad --tasks are usage errors naming the tasks; the `eval:`
// section is checked like every section, shown in the plan and outside a run's identity.
#include <torch/torch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "attnlab/config/identity.h"
#include "attnlab/eval/evaluate.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/run/eval_runs.h"
#include "attnlab/run/load_run.h"
#include "attnlab/spec/run_spec.h"
#include "run_test_util.h"

using namespace attnlab;
using namespace attnlab::test;
using nlohmann::json;

namespace {

plugin::PluginRegistry& built_plugins() {
  static plugin::PluginRegistry registry(fs::path(ATTNLAB_BINARY_DIR) / "plugins");
  return registry;
}

// Equal up to float rounding (relative 1e-9), key by key; `skip` keys (timings) are compared
// for presence only.
bool same_values(const json& a, const json& b, const std::vector<std::string>& skip = {}) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return x == y || std::abs(x - y) <= 1e-9 * std::max(std::abs(x), std::abs(y));
  }
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) return false;
      if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
      if (!same_values(value, b.at(key), skip)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!same_values(a[i], b[i], skip)) return false;
    }
    return true;
  }
  return a == b;
}

// evaluate() on the checkpoint `word` names, here in the test process (one thread, as the
// runs train with), with the run's eval settings and `tasks`.
std::map<std::string, json> evaluate_here(const std::string& word, const fs::path& db,
                                          const std::vector<std::string>& tasks) {
  torch::set_num_threads(1);
  const auto target = run::resolve_target(word, db.string(), "");
  const auto tree = json::parse(target.run.config_json);
  auto loaded = run::load_run(target, tree, built_plugins());
  std::map<std::string, json> out;
  for (auto& r : eval::evaluate(loaded.model, tree, run::eval_settings_of(tree, tasks), {})) {
    out[r.name] = r.value;
  }
  return out;
}

// The stored value of `name` at `step`; null when absent.
json stored_eval(const fs::path& db, int64_t run_id, const std::string& name, int64_t step) {
  for (const auto& row : store::Store(db.string()).evals(run_id, name)) {
    if (row.step == step) return json::parse(row.value_json);
  }
  return nullptr;
}

CliOutcome eval_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "eval");
  return run_cli(cli(std::move(args)));
}

const std::vector<std::string> kTimings = {"tokens_per_s"};

}  // namespace

TEST_CASE("a run is evaluated after training; attnlab eval stores what evaluate() returns",
          "[eval][cli]") {
  const auto dir = fresh_run_dir("eval_dense");
  const auto db = dir / "x.db";
  const std::vector<std::string> tasks = {"val_loss", "position_loss", "passkey", "generation"};
  run_cli_ok(small_run_args(
      "train", db,
      {"attention=dense", "train.checkpoint_every=1", "train.keep_checkpoints=3",
       "eval.tasks=[val_loss,position_loss,passkey,generation]", "eval.batches=2",
       "eval.passkey_lengths=[40]", "eval.passkey_depths=[0.0,1.0]", "eval.passkey_trials=2"}));
  const auto runs = stored_runs(db, "smoke");
  REQUIRE(runs.size() == 1);
  const auto& run = runs.front();
  CHECK(run.status == "finished");
  CHECK_FALSE(store::Store(db.string()).run_info(run.id).count(run::kInfoEvalError));

  // After training: a row per task at the last step, equal to the checkpoint's evaluation.
  const auto name = "smoke/" + run.name;
  const auto direct = evaluate_here(name, db, tasks);
  REQUIRE(direct.size() == tasks.size());
  for (const auto& task : tasks) {
    const auto stored = stored_eval(db, run.id, "eval/" + task, 2);
    INFO(task << ": stored " << stored.dump() << " direct " << direct.at("eval/" + task).dump());
    CHECK(same_values(stored, direct.at("eval/" + task), kTimings));
  }
  CHECK(direct.at("eval/passkey").dump() != "null");

  // attnlab eval by name rewrites the rows at the checkpoint's step.
  {
    store::Store writable(db.string());
    writable.log_eval(run.id, 2, "eval/val_loss", R"({"sentinel": 1})");
    writable.log_eval(run.id, 2, "eval/position_loss", R"({"sentinel": 1})");
  }
  const auto by_name = eval_cli({name, "--tasks", "val_loss,position_loss", "--db", db.string()});
  INFO(transcript_of(by_name));
  REQUIRE(by_name.exit_code == 0);
  CHECK_THAT(by_name.out, Catch::Contains("eval/val_loss") && Catch::Contains("perplexity") &&
                              Catch::Contains("eval/position_loss"));
  CHECK_THAT(by_name.err, Catch::Contains("stored 2 evals rows") && Catch::Contains("step 2"));
  for (const char* task : {"eval/val_loss", "eval/position_loss"}) {
    CHECK(same_values(stored_eval(db, run.id, task, 2), direct.at(task)));
  }

  // By checkpoint path (the store found beside runs/): the step-1 model, stored at step 1.
  const auto step1 =
      dir / "runs" / "x" / "smoke" / run.name / "checkpoints" / "step_0000000001.ckpt";
  REQUIRE(fs::exists(step1));
  const auto by_path = eval_cli({step1.string(), "--tasks", "val_loss"});
  INFO(transcript_of(by_path));
  REQUIRE(by_path.exit_code == 0);
  const auto direct1 = evaluate_here(step1.string(), db, {"val_loss"});
  const auto stored1 = stored_eval(db, run.id, "eval/val_loss", 1);
  CHECK(same_values(stored1, direct1.at("eval/val_loss")));
  CHECK_FALSE(same_values(stored1, direct.at("eval/val_loss")));  // another model
  CHECK(same_values(stored_eval(db, run.id, "eval/val_loss", 2), direct.at("eval/val_loss")));

  // --no-store prints and writes nothing.
  store::Store(db.string()).log_eval(run.id, 2, "eval/val_loss", R"({"sentinel": 1})");
  const auto printed = eval_cli({name, "--tasks", "val_loss", "--no-store", "--db", db.string()});
  REQUIRE(printed.exit_code == 0);
  CHECK_THAT(printed.out, Catch::Contains("perplexity"));
  CHECK(stored_eval(db, run.id, "eval/val_loss", 2) == json{{"sentinel", 1}});

  const auto refused = eval_cli({name, "--tasks", "mqar", "--db", db.string()});
  CHECK(refused.exit_code == 2);  // shard data: mqar refused before any task runs
  CHECK_THAT(refused.err, Catch::Contains("data.kind mqar") && Catch::Contains("--tasks"));
}

TEST_CASE("a task a run cannot do after training leaves it finished, recorded", "[eval][cli]") {
  const auto dir = fresh_run_dir("eval_no_decoding");
  const auto db = dir / "x.db";
  const auto trained = run_cli_ok(small_run_args(
      "train", db,
      {"attention=head_threshold_gate", "eval.tasks=[val_loss,generation]", "eval.batches=1"}));
  CHECK_THAT(trained.err, Catch::Contains("generation failed") &&
                              Catch::Contains("the run is finished all the same"));
  const auto run = stored_runs(db, "smoke").front();
  CHECK(run.status == "finished");
  CHECK(stored_eval(db, run.id, "eval/val_loss", 2).contains("perplexity"));
  CHECK(stored_eval(db, run.id, "eval/generation", 2).is_null());
  const auto info = store::Store(db.string()).run_info(run.id);
  REQUIRE(info.count(run::kInfoEvalError));
  const auto errors = json::parse(info.at(run::kInfoEvalError));
  CHECK(errors.size() == 1);
  CHECK_THAT(errors.value("generation", ""), Catch::Contains("decoding"));

  const auto name = "smoke/" + run.name;
  const auto refused = eval_cli({name, "--db", db.string()});  // its eval.tasks: generation too
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("drop generation from eval.tasks"));

  const auto unknown = eval_cli({name, "--tasks", "val_loss,perplexity", "--db", db.string()});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err,
             Catch::Contains("unknown task 'perplexity'") &&
                 Catch::Contains("val_loss, position_loss, mqar, passkey, generation"));
  const auto twice = eval_cli({name, "--tasks", "val_loss,val_loss", "--db", db.string()});
  CHECK(twice.exit_code == 2);
  CHECK_THAT(twice.err, Catch::Contains("named twice"));
  const auto missing = eval_cli({"smoke/no_such_run", "--db", db.string()});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("no run named 'smoke/no_such_run'"));

  const auto help = eval_cli({"--help"});
  CHECK(help.exit_code == 0);
  for (const char* word :
       {"val_loss", "position_loss", "mqar", "passkey", "generation", "evals", "--tasks"}) {
    CHECK_THAT(help.out, Catch::Contains(word));
  }
}

TEST_CASE("the eval: section is checked, shown in the plan, and outside the identity",
          "[eval][config]") {
  setenv("ATTNLAB_SHARED", ATTNLAB_SHARED_DIR, 0);
  auto plugins = std::make_shared<plugin::PluginRegistry>(fs::path(ATTNLAB_BINARY_DIR) / "plugins");
  const auto specs_of = [&](const std::string& experiment, std::vector<std::string> overrides) {
    return spec::build_run_specs(
        {experiment, std::move(overrides), {fs::path(ATTNLAB_SOURCE_DIR) / "experiments"}},
        plugins);
  };
  const auto plain = specs_of("smoke", {"attention=dense"}).front();
  const auto other = specs_of("smoke", {"attention=dense", "eval.tasks=[val_loss]",
                                        "eval.batches=3", "eval.passkey_trials=9"})
                         .front();
  CHECK(run::eval_settings_of(other.cell).tasks == std::vector<std::string>{"val_loss"});
  CHECK(plain.identity == other.identity);
  CHECK(plain.fingerprint == other.fingerprint);
  CHECK(config::results_identity(plain.cell.tree) == config::results_identity(other.cell.tree));

  const auto smoke = run::eval_settings_of(plain.cell);
  CHECK(smoke.tasks ==
        std::vector<std::string>{"val_loss", "position_loss", "passkey", "generation"});
  REQUIRE(smoke.passkey_files.size() == 1);
  CHECK(fs::exists(smoke.passkey_files.front()));
  CHECK(run::eval_settings_of(specs_of("mqar_smoke", {"attention=dense"}).front().cell).tasks ==
        std::vector<std::string>{"val_loss", "position_loss", "mqar"});

  try {
    specs_of("smoke", {"attention=dense", "eval.taks=[val_loss]"});
    FAIL("eval.taks accepted");
  } catch (const config::ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("did you mean 'eval.tasks'"));
  }

  const auto db = fresh_run_dir("eval_plan") / "x.db";
  const auto plan = run_cli_ok(small_run_args("run", db, {"attention=dense", "--dry-run"}));
  CHECK_THAT(plan.out, Catch::Contains("eval after training (eval.tasks, every run): val_loss, "
                                       "position_loss, passkey, generation"));
  const auto per_run = run_cli_ok(small_run_args(
      "run", db, {"attention=dense,fixed_window", "eval.tasks=[val_loss]", "--dry-run"}));
  CHECK_THAT(per_run.out, Catch::Contains("every run): val_loss\n"));
  const auto bad =
      run_cli(cli(small_run_args("run", db, {"eval.tasks=[val_loss,mqr]", "--dry-run"})));
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("eval.tasks") && Catch::Contains("override") &&
                          Catch::Contains("\"mqr\" is not an evaluation task"));
  CHECK_FALSE(fs::exists(db));
}
