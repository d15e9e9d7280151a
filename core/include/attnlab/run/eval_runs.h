// A run's evaluation (attnlab/eval/evaluate.h) as the results store keeps it: the tasks its
// config's `eval:` section names, each result one row of the `evals` table at the step the
// model has trained (name eval/<task>, the value as JSON). `attnlab eval` stores them for a
// loaded checkpoint; the run driver for every run that finishes training, on the model still
// in memory, where a failing task is recorded and the finished training kept.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "attnlab/config/config.h"
#include "attnlab/eval/evaluate.h"
#include "attnlab/model/decoder.h"
#include "attnlab/store/store.h"

namespace attnlab::run {

// run_info key of a run whose evaluation after training failed: {task: message} for each
// failed task (the other tasks' rows are stored). Written only when some task failed.
inline constexpr const char* kInfoEvalError = "eval_error";

// The `eval:` section of a run's resolved config as settings (defaults filled in; a config
// recorded before `eval:` existed gets every default), with the task list replaced by
// `tasks` when given. Throws config::ConfigError naming eval.<key>.
eval::EvalSettings eval_settings_of(const nlohmann::json& tree,
                                    const std::optional<std::vector<std::string>>& tasks = {});

// The same for a composed cell, a ConfigError naming where the eval.<key> was set.
eval::EvalSettings eval_settings_of(const config::ResolvedConfig& cell);

// "val_loss,mqar" -> its tasks; throws std::invalid_argument naming an unknown or repeated
// task and every allowed one (eval::kTasks).
std::vector<std::string> parse_task_list(const std::string& list);

// "val_loss, position_loss, generation", or "none".
std::string describe_tasks(const std::vector<std::string>& tasks);

// Each result as an evals row (run_id, step, name, value JSON); a row of the same run, name
// and step is replaced.
void store_eval_results(store::Store& db, int64_t run_id, int64_t step,
                        const std::vector<eval::EvalResult>& results);

// After training: runs the config's eval.tasks on `model` (the trainer's, in memory) and
// stores their rows at `step`; progress goes to stdout behind `log_prefix`. When that fails,
// each task runs alone, so one that cannot run (e.g. generation with a variant without
// decoding) costs only its own row: each failure is printed to stderr and recorded in run_info
// kInfoEvalError. Never throws for a failed task (only when the store cannot be written): the
// run still finishes. Returns the number of failures.
int evaluate_finished_run(store::Store& db, int64_t run_id, int64_t step, model::Decoder& model,
                          const nlohmann::json& tree, const std::string& log_prefix);

}  // namespace attnlab::run
