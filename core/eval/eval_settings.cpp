// The `eval:` config section: its schema and EvalSettings parsing; see evaluate.h.
#include <algorithm>
#include <iterator>
#include <limits>
#include <string>

#include "attnlab/eval/evaluate.h"

namespace attnlab::eval {

namespace {

std::string task_list() {
  std::string s;
  for (const char* task : kTasks) s += (s.empty() ? "" : ", ") + std::string(task);
  return s;
}

std::vector<std::string> parse_tasks(const nlohmann::json& tasks) {
  std::vector<std::string> out;
  for (const auto& task : tasks) {
    const bool known = task.is_string() && std::any_of(std::begin(kTasks), std::end(kTasks),
                                                       [&](const char* t) { return task == t; });
    if (!known)
      throw config::ConfigError(
          "eval.tasks", {}, task.dump() + " is not an evaluation task; choose from " + task_list());
    if (std::find(out.begin(), out.end(), task.get<std::string>()) != out.end())
      throw config::ConfigError("eval.tasks", {}, task.dump() + " is listed twice");
    out.push_back(task.get<std::string>());
  }
  return out;
}

// Each element of list `key` must satisfy `ok`; `what` says what it must be.
template <class T, class Ok>
std::vector<T> parse_list(const nlohmann::json& list, const std::string& key, Ok ok,
                          const std::string& what) {
  std::vector<T> out;
  for (const auto& item : list) {
    if (!ok(item)) throw config::ConfigError(key, {}, item.dump() + " is not " + what);
    out.push_back(item.get<T>());
  }
  return out;
}

}  // namespace

EvalSettings EvalSettings::from_json(const nlohmann::json& eval_section) {
  const auto e = config::validate_section(eval_schema(), eval_section);
  EvalSettings s;
  s.tasks = parse_tasks(e.at("tasks"));
  s.batches = e.at("batches").get<int64_t>();
  s.position_buckets = e.at("position_buckets").get<int64_t>();
  s.mqar_sequences = e.at("mqar_sequences").get<int64_t>();
  s.passkey_lengths = parse_list<int64_t>(
      e.at("passkey_lengths"), "eval.passkey_lengths",
      [](const nlohmann::json& v) { return v.is_number_integer() && v.get<int64_t>() >= 1; },
      "a prompt length in tokens (a whole number >= 1)");
  s.passkey_depths = parse_list<double>(
      e.at("passkey_depths"), "eval.passkey_depths",
      [](const nlohmann::json& v) {
        return v.is_number() && v.get<double>() >= 0.0 && v.get<double>() <= 1.0;
      },
      "a depth in [0, 1] (the share of the filler before the needle)");
  if (s.passkey_depths.empty())
    throw config::ConfigError("eval.passkey_depths", {}, "needs at least one depth in [0, 1]");
  s.passkey_trials = e.at("passkey_trials").get<int64_t>();
  s.passkey_files = parse_list<std::string>(
      e.at("passkey_files"), "eval.passkey_files",
      [](const nlohmann::json& v) { return v.is_string() && !v.get<std::string>().empty(); },
      "a file path (JSONL with a \"text\" field, or .txt)");
  s.generation_prompt_tokens = e.at("generation_prompt_tokens").get<int64_t>();
  s.generation_new_tokens = e.at("generation_new_tokens").get<int64_t>();
  return s;
}

config::SectionSchema eval_schema() {
  using config::ValueType;
  using nlohmann::json;
  const double inf = std::numeric_limits<double>::infinity();
  config::SectionSchema s;
  s.path = "eval";
  s.owner = "eval";
  s.keys = {
      {"tasks",
       ValueType::List,
       json::array({"val_loss", "position_loss"}),
       -inf,
       inf,
       {},
       "evaluations to run, in this order, from: " + task_list() +
           " (docs/EVALUATION.md); mqar needs data.kind mqar, passkey shard (text) data and "
           "eval.passkey_files, generation a plugin that supports decoding"},
      {"batches",
       ValueType::Int,
       8,
       1,
       inf,
       {},
       "val_loss, position_loss: the first validation batches read (train.batch_size x "
       "train.seq_len targets each)"},
      {"position_buckets",
       ValueType::Int,
       16,
       1,
       1 << 20,
       {},
       "position_loss: equal-width buckets of token position over [0, train.seq_len) (at most "
       "one per position)"},
      {"mqar_sequences",
       ValueType::Int,
       256,
       1,
       4294967295.0,
       {},
       "mqar: eval-stream sequences scored (accuracy per gap)"},
      {"passkey_lengths",
       ValueType::List,
       json::array(),
       -inf,
       inf,
       {},
       "passkey: prompt lengths L in tokens; [] = train.seq_len / 4, / 2 and x 1; longer than "
       "train.seq_len tests RoPE extrapolation"},
      {"passkey_depths",
       ValueType::List,
       json::array({0.0, 0.25, 0.5, 0.75, 1.0}),
       -inf,
       inf,
       {},
       "passkey: needle depths d in [0, 1], the share of the filler before the needle"},
      {"passkey_trials",
       ValueType::Int,
       4,
       1,
       1 << 20,
       {},
       "passkey: prompts per (length, depth), seeds 0 .. trials-1"},
      {"passkey_files",
       ValueType::List,
       json::array(),
       -inf,
       inf,
       {},
       "passkey: filler documents (JSONL with a \"text\" field, or .txt), at least twice the "
       "longest length in tokens, e.g. ../shared/data/fineweb/fineweb-sample-300.jsonl"},
      {"generation_prompt_tokens",
       ValueType::Int,
       32,
       1,
       inf,
       {},
       "generation: prompt tokens, taken from the start of the validation data (at most "
       "train.seq_len)"},
      {"generation_new_tokens",
       ValueType::Int,
       32,
       1,
       inf,
       {},
       "generation: tokens generated greedily with the KV cache"},
  };
  return s;
}

}  // namespace attnlab::eval
