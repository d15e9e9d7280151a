// A run's evaluation stored as evals rows, on demand and after training (see
// attnlab/run/eval_runs.h).
#include "attnlab/run/eval_runs.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <stdexcept>

#include "attnlab/run/error_message.h"

namespace attnlab::run {

namespace {

std::string allowed_tasks() {
  std::vector<std::string> all(std::begin(eval::kTasks), std::end(eval::kTasks));
  return describe_tasks(all);
}

}  // namespace

eval::EvalSettings eval_settings_of(const nlohmann::json& tree,
                                    const std::optional<std::vector<std::string>>& tasks) {
  nlohmann::json section = tree.contains("eval") ? tree.at("eval") : nlohmann::json::object();
  if (tasks) section["tasks"] = *tasks;
  return eval::EvalSettings::from_json(section);
}

eval::EvalSettings eval_settings_of(const config::ResolvedConfig& cell) {
  try {
    return eval_settings_of(cell.tree);
  } catch (const config::ConfigError& e) {
    throw config::ConfigError(e.key(), cell.origin_of(e.key()), e.message());
  }
}

std::vector<std::string> parse_task_list(const std::string& list) {
  std::vector<std::string> tasks;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const auto task = list.substr(start, comma - start);
    if (std::find(std::begin(eval::kTasks), std::end(eval::kTasks), task) ==
        std::end(eval::kTasks)) {
      throw std::invalid_argument("unknown task '" + task + "' in '" + list + "'; the tasks are " +
                                  allowed_tasks() + " (comma-separated, no spaces)");
    }
    if (std::find(tasks.begin(), tasks.end(), task) != tasks.end()) {
      throw std::invalid_argument("task '" + task + "' is named twice in '" + list + "'");
    }
    tasks.push_back(task);
    start = comma + 1;
  }
  return tasks;
}

std::string describe_tasks(const std::vector<std::string>& tasks) {
  if (tasks.empty()) return "none";
  std::string out;
  for (const auto& t : tasks) out += (out.empty() ? "" : ", ") + t;
  return out;
}

void store_eval_results(store::Store& db, int64_t run_id, int64_t step,
                        const std::vector<eval::EvalResult>& results) {
  for (const auto& r : results) db.log_eval(run_id, step, r.name, r.value.dump());
}

int evaluate_finished_run(store::Store& db, int64_t run_id, int64_t step, model::Decoder& model,
                          const nlohmann::json& tree, const std::string& log_prefix) {
  nlohmann::json errors = nlohmann::json::object();
  const auto progress = [&](const std::string& line) {
    std::printf("%seval: %s\n", log_prefix.c_str(), line.c_str());
    std::fflush(stdout);
  };
  const auto run_tasks = [&](const eval::EvalSettings& settings) {
    store_eval_results(db, run_id, step, eval::evaluate(model, tree, settings, progress));
  };
  try {
    const auto settings = eval_settings_of(tree);
    progress("after training: " + describe_tasks(settings.tasks));
    try {
      run_tasks(settings);  // all at once: val_loss and position_loss share one pass
    } catch (const std::exception&) {
      std::printf("%seval: not every task could run; running each alone (failures below)\n",
                  log_prefix.c_str());
      for (const auto& task : settings.tasks) {
        auto one = settings;
        one.tasks = {task};
        try {
          run_tasks(one);
        } catch (const std::exception& e) {
          errors[task] = error_message(e);
        }
      }
    }
  } catch (const std::exception& e) {  // the eval: section itself
    errors["eval"] = error_message(e);
  }
  for (const auto& [what, message] : errors.items()) {
    std::fprintf(stderr,
                 "%seval: %s failed (the run is finished all the same; `attnlab eval` reruns it): %s\n",
                 log_prefix.c_str(), what.c_str(), message.get<std::string>().c_str());
  }
  if (!errors.empty()) db.set_run_info(run_id, kInfoEvalError, errors.dump());
  return static_cast<int>(errors.size());
}

}  // namespace attnlab::run
