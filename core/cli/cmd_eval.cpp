// attnlab eval: the evaluation tasks of a trained run (attnlab/eval/evaluate.h). Finds the run
// and loads its newest checkpoint (attnlab/run/load_run.h), runs its config's eval.tasks (or
// --tasks), prints a summary to stdout and progress to stderr, and stores each result as a row
// of the store's evals table at the checkpoint's step, opening the store writable only then.
#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "attnlab/plugin/registry.h"
#include "attnlab/run/eval_runs.h"
#include "attnlab/run/load_run.h"
#include "attnlab/spec/run_spec.h"
#include "attnlab/store/store.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {
namespace {

const std::string kUsage =
    std::string(
        "RUN|CHECKPOINT [--tasks TASK,...] [--db PATH] [--no-store]\n\n"
        "Evaluates a trained run's model and stores each result in the results store's evals\n"
        "table (run, step = the checkpoint's trained steps, name eval/<task>, value as JSON),\n"
        "where `attnlab report` reads them; a summary goes to stdout, progress to stderr. The\n"
        "store is opened for writing only once every task has run; when it cannot be written\n"
        "the summary is still printed and the command exits 1 (--no-store: print only).\n\n") +
    run::kTargetHelp + "\n" +
    "Tasks (eval.tasks of the run's stored config unless --tasks; the other eval.* keys always\n"
    "come from it: `attnlab config schema` lists them; docs/EVALUATION.md):\n"
    "  val_loss       mean loss and perplexity over eval.batches validation batches\n"
    "                 (train.batch_size x train.seq_len) of the run's held-out data\n"
    "  position_loss  the same batches' loss by token position, in eval.position_buckets\n"
    "                 buckets over [0, T): what a window or gate loses at long range\n"
    "  mqar           multi-query associative recall accuracy per gap on\n"
    "                 eval.mqar_sequences held-out MQAR sequences (runs trained on\n"
    "                 data.kind mqar)\n"
    "  passkey        retrieval accuracy of a passkey hidden at depth d in filler text of L\n"
    "                 tokens from eval.passkey_files, over eval.passkey_lengths x\n"
    "                 eval.passkey_depths, eval.passkey_trials prompts each\n"
    "  generation     decoding eval.generation_new_tokens after eval.generation_prompt_tokens\n"
    "                 with the KV cache: tokens/s, cache bytes per token and peak (variants\n"
    "                 with decoding only)\n"
    "A task this run cannot do (mqar on shard data, passkey without files, generation without\n"
    "decoding) is refused before any task runs, saying which one to drop. Every run is also\n"
    "evaluated on its eval.tasks right after training (attnlab run).";

std::optional<std::vector<std::string>> tasks_option(const po::variables_map& vm) {
  if (!vm.count("tasks")) return std::nullopt;
  try {
    return run::parse_task_list(vm["tasks"].as<std::string>());
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--tasks: ") + e.what());
  }
}

// A value for one summary line: numbers to 4 significant digits, lists and maps in JSON with
// their numbers so shortened.
std::string readable(const nlohmann::json& value) {
  if (value.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.4g", value.get<double>());
    return buf;
  }
  if (value.is_array() || value.is_object()) {
    std::string out;
    for (auto it = value.begin(); it != value.end(); ++it) {
      out += (out.empty() ? "" : ", ") + (value.is_object() ? it.key() + ": " : "") + readable(*it);
    }
    return value.is_array() ? "[" + out + "]" : "{" + out + "}";
  }
  return value.dump();
}

void print_summary(const std::vector<eval::EvalResult>& results) {
  for (const auto& r : results) {
    std::cout << r.name << "\n";
    if (!r.value.is_object()) {
      std::cout << "  " << readable(r.value) << "\n";
      continue;
    }
    for (const auto& [key, value] : r.value.items()) {
      std::cout << "  " << key << ": " << readable(value) << "\n";
    }
  }
  std::cout << std::flush;
}

// Stores the rows; a store that cannot be written is said on stderr (exit 1).
int store_results(const run::RunTarget& target, int64_t step,
                  const std::vector<eval::EvalResult>& results) {
  try {
    store::Store db(target.db);
    run::store_eval_results(db, target.run.id, step, results);
  } catch (const store::StoreError& e) {
    std::fprintf(stderr,
                 "attnlab eval: the results above were NOT stored: %s (fix that and run again, "
                 "or use --no-store)\n",
                 e.what());
    return 1;
  }
  std::fprintf(stderr, "attnlab eval: stored %zu evals rows for run %lld at step %lld in %s\n",
               results.size(), static_cast<long long>(target.run.id), static_cast<long long>(step),
               target.db.c_str());
  return 0;
}

}  // namespace

int cmd_eval(const Args& args) {
  po::options_description options("eval");
  options.add_options()(
      "tasks", po::value<std::string>(),
      "comma-separated tasks to run instead of the run's eval.tasks, e.g. val_loss,passkey")(
      "db", po::value<std::string>(), "results store (default results/attnlab.db or ATTNLAB_DB)")(
      "no-store", po::bool_switch(), "print the results only; write nothing");
  const auto parsed = parse_args("eval", kUsage, options, args, "target");
  if (parsed.help) return 0;
  const auto& vm = parsed.vm;
  if (parsed.positional.size() != 1) throw UsageError("expected one RUN or CHECKPOINT path");
  const auto tasks = tasks_option(vm);
  const auto db =
      vm.count("db") ? std::optional<std::string>(vm["db"].as<std::string>()) : std::nullopt;

  const auto target = run::resolve_target(parsed.positional.front(), db, default_db_path());
  const auto tree = nlohmann::json::parse(target.run.config_json);
  const auto settings = run::eval_settings_of(tree, tasks);
  torch::set_num_threads(spec::resolve_threads(tree.at("train").value("threads", int64_t{0})));
  plugin::PluginRegistry plugins(default_plugin_dir());
  auto loaded = run::load_run(target, tree, plugins);
  std::fprintf(stderr, "attnlab eval: %s/%s (plugin %s, %lld trained steps): %s\n",
               target.run.experiment.c_str(), target.run.name.c_str(), loaded.plugin.c_str(),
               static_cast<long long>(loaded.trained_steps),
               run::describe_tasks(settings.tasks).c_str());
  std::vector<eval::EvalResult> results;
  try {
    results = eval::evaluate(loaded.model, tree, settings, [](const std::string& line) {
      std::fprintf(stderr, "attnlab eval: %s\n", line.c_str());
    });
  } catch (const std::invalid_argument& e) {  // a task this run cannot do
    throw UsageError(std::string(e.what()) + " (--tasks chooses the tasks)");
  }
  print_summary(results);
  if (vm["no-store"].as<bool>()) return 0;
  return store_results(target, loaded.trained_steps, results);
}

}  // namespace attnlab::cli
