// evaluate(): checks that every requested task can run for the run's config, then runs them in
// order on the model in eval mode without gradients, reporting progress; see evaluate.h.
#include "attnlab/eval/evaluate.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>

#include "attnlab/data/loader.h"
#include "attnlab/data/passkey.h"
#include "attnlab/data/tokenizer.h"
#include "attnlab/eval/mqar_accuracy.h"
#include "attnlab/eval/passkey_accuracy.h"
#include "attnlab/eval/position_loss.h"
#include "attnlab/model/chunked_lm_loss.h"
#include "attnlab/model/generation.h"

namespace attnlab::eval {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// A task that cannot run for this config: what to set, or which eval.tasks entry to drop.
[[noreturn]] void refuse(const std::string& task, const std::string& why) {
  throw std::invalid_argument("eval.tasks: " + task + " cannot run for this run: " + why);
}

// What the tasks read from the run's composed config tree.
struct RunFacts {
  data::LoaderOptions data;  // the validation stream's view: rank 0 of 1
  std::string variant;       // attention.variant (named in decoding errors)
  int64_t vocab_limit = 0;   // data.vocab_size: ids above it are padding, never chosen
  std::string tokenizer, tokenizer_dir;
};

RunFacts run_facts(const json& tree) {
  const auto& d = tree.at("data");
  const auto& t = tree.at("train");
  RunFacts f;
  f.data.train_files = d.at("train_files").get<std::vector<std::string>>();
  f.data.val_files = d.at("val_files").get<std::vector<std::string>>();
  f.data.val_tokens = d.at("val_tokens").get<uint64_t>();
  f.data.vocab_size = uint32_t(d.at("vocab_size").get<int64_t>());
  f.data.batch_size = t.at("batch_size").get<int>();
  f.data.seq_len = t.at("seq_len").get<int>();
  f.data.kind = d.value("kind", std::string("shards"));
  if (f.data.kind == "mqar") f.data.mqar = data::mqar_options_from_config(d, f.data.seq_len);
  f.variant = tree.at("attention").at("variant").get<std::string>();
  f.vocab_limit = d.at("vocab_size").get<int64_t>();
  f.tokenizer = d.at("tokenizer").get<std::string>();
  f.tokenizer_dir = d.at("tokenizer_dir").get<std::string>();
  return f;
}

// Progress lines of one task: "eval 2/5 position_loss: 3/8 batches, 4.1 s, ETA 6.2 s", at
// most one every 2 s within the task, and the last one always.
class TaskProgress {
 public:
  TaskProgress(const std::function<void(const std::string&)>& sink, size_t index, size_t n,
               const std::string& task)
      : sink_(sink),
        prefix_("eval " + std::to_string(index + 1) + "/" + std::to_string(n) + " " + task + ": ") {
  }
  void note(const std::string& text) const {
    if (sink_) sink_(prefix_ + text);
  }
  void update(int64_t done, int64_t total, const std::string& unit) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    if (done < total && elapsed - last_ < 2.0) return;
    last_ = elapsed;
    char line[160];
    std::snprintf(line, sizeof line, "%lld/%lld %s, %.1f s, ETA %.1f s", (long long)done,
                  (long long)total, unit.c_str(), elapsed,
                  done > 0 ? elapsed * double(total - done) / double(done) : 0.0);
    note(line);
  }

 private:
  const std::function<void(const std::string&)>& sink_;
  std::string prefix_;
  Clock::time_point start_ = Clock::now();
  double last_ = 0.0;
};

// Puts the model in eval mode; its mode comes back on scope exit, errors included.
class EvalMode {
 public:
  explicit EvalMode(model::Decoder& model) : model_(model), was_training_(model->is_training()) {
    model_->eval();
  }
  ~EvalMode() { model_->train(was_training_); }

 private:
  model::Decoder& model_;
  bool was_training_;
};

// What the checks built for the tasks to run on.
struct Prepared {
  std::unique_ptr<data::ValidationSet> val;
  std::optional<PasskeyGrid> passkey;
};

std::unique_ptr<data::ValidationSet> validation_set(const RunFacts& f, const std::string& task) {
  auto val = std::make_unique<data::ValidationSet>(f.data);
  if (val->n_batches() == 0)
    refuse(task,
           "the run has no validation data (" +
               std::string(f.data.kind == "mqar" ? "data.mqar.val_sequences" : "data.val_tokens") +
               " is 0 or below one batch); set it or drop " + task + " from eval.tasks");
  return val;
}

std::vector<int64_t> passkey_lengths(const EvalSettings& s, int64_t T) {
  if (!s.passkey_lengths.empty()) return s.passkey_lengths;
  return {T / 4, T / 2, T};
}

PasskeyGrid prepare_passkey(const RunFacts& f, const EvalSettings& s, const model::Decoder& m) {
  if (f.data.kind != "shards")
    refuse("passkey", "data.kind " + f.data.kind +
                          " has no text to hide a passkey in; drop "
                          "passkey from eval.tasks");
  if (s.passkey_files.empty())
    refuse("passkey",
           "no filler text; set eval.passkey_files (e.g. "
           "[../shared/data/fineweb/fineweb-sample-300.jsonl]) or drop passkey from "
           "eval.tasks");
  if (m->config().vocab_size < f.vocab_limit)
    refuse("passkey", "the model's vocabulary is smaller than data.vocab_size");
  const auto lengths = passkey_lengths(s, f.data.seq_len);
  try {
    const auto tokenizer = data::Tokenizer::load(f.tokenizer, f.tokenizer_dir);
    const auto longest = *std::max_element(lengths.begin(), lengths.end());
    const auto filler = data::passkey_filler(tokenizer, s.passkey_files, size_t(2 * longest));
    return passkey_grid(tokenizer, filler, lengths, s.passkey_depths, s.passkey_trials);
  } catch (const data::DataError& e) {
    refuse("passkey", std::string(e.what()) + " (eval.passkey_lengths " + json(lengths).dump() +
                          ", eval.passkey_files)");
  }
}

void check_generation(model::Decoder& model, const RunFacts& f, const EvalSettings& s) {
  try {
    model->make_kv_cache(f.variant);
  } catch (const std::invalid_argument& e) {
    refuse("generation", std::string(e.what()) + "; drop generation from eval.tasks");
  }
  if (s.generation_prompt_tokens > f.data.seq_len)
    refuse("generation", "eval.generation_prompt_tokens " +
                             std::to_string(s.generation_prompt_tokens) +
                             " is longer than a validation row; set it to at most train.seq_len (" +
                             std::to_string(f.data.seq_len) + ")");
}

// Every task's preconditions, before any runs.
Prepared prepare(model::Decoder& model, const RunFacts& f, const EvalSettings& s) {
  Prepared p;
  for (const auto& task : s.tasks) {
    if (std::none_of(std::begin(kTasks), std::end(kTasks),
                     [&](const char* t) { return task == t; }))
      throw std::invalid_argument("eval.tasks: unknown task '" + task + "'");
    if (task == "mqar" && f.data.kind != "mqar")
      refuse("mqar", "it needs data.kind mqar (this run's data is " + f.data.kind +
                         "); drop mqar from eval.tasks");
    if (task == "passkey") p.passkey = prepare_passkey(f, s, model);
    if (task == "generation") check_generation(model, f, s);
    if (task != "mqar" && task != "passkey" && !p.val) p.val = validation_set(f, task);
  }
  return p;
}

json mqar_json(const LogitsFn& logits_of, const RunFacts& f, const EvalSettings& s) {
  const auto acc = mqar_accuracy(logits_of, f.data.mqar, s.mqar_sequences, f.data.batch_size);
  json gaps = json::array(), accuracy = json::array(), correct = json::array(),
       total = json::array();
  for (const auto& g : acc.by_gap) {
    gaps.push_back(g.gap);
    accuracy.push_back(g.accuracy());
    correct.push_back(g.correct);
    total.push_back(g.total);
  }
  return {{"gaps", gaps},
          {"accuracy", accuracy},
          {"correct", correct},
          {"total", total},
          {"overall", acc.accuracy()}};
}

json generation_json(model::Decoder& model, const RunFacts& f, const EvalSettings& s,
                     const data::ValidationSet& val) {
  const int64_t B = f.data.batch_size, T = f.data.seq_len;
  std::vector<int32_t> batch(size_t(B * (T + 1)));
  val.batch(0, batch.data());
  const std::vector<int64_t> prompt(batch.begin(), batch.begin() + s.generation_prompt_tokens);
  auto cache = model->make_kv_cache(f.variant);
  model::Sampler greedy({0.0, 0, 1.0}, 0);
  model::GenerationOptions options;
  options.max_new_tokens = s.generation_new_tokens;
  options.vocab_limit = f.vocab_limit;
  const auto r = model::generate(model, cache, prompt, greedy, options, [](int64_t) {});
  return {
      {"tokens_per_s", r.tokens_per_second()},  {"cache_bytes_per_token", r.cache_bytes_per_token},
      {"cache_peak_bytes", r.cache_peak_bytes}, {"prompt_tokens", int64_t(prompt.size())},
      {"new_tokens", int64_t(r.tokens.size())}, {"rolling", cache.is_rolling()}};
}

}  // namespace

std::vector<EvalResult> evaluate(model::Decoder& model, const nlohmann::json& config_tree,
                                 const EvalSettings& settings,
                                 const std::function<void(const std::string&)>& progress) {
  const RunFacts f = run_facts(config_tree);
  torch::NoGradGuard no_grad;
  EvalMode eval_mode(model);
  Prepared prepared = prepare(model, f, settings);
  const auto device = model->parameters().front().device();
  const LogitsFn logits_of = [&](const torch::Tensor& idx_BT) {
    return model->forward(idx_BT.to(device));
  };
  const int64_t T = f.data.seq_len;
  const int64_t rows_per_forward =
      std::max<int64_t>(1, model::kChunkLogitsBytes / (T * model->config().vocab_size * 4));
  std::optional<PositionLoss> losses;  // one pass serves val_loss and position_loss
  std::vector<EvalResult> results;
  for (size_t i = 0; i < settings.tasks.size(); ++i) {
    const auto& task = settings.tasks[i];
    TaskProgress line(progress, i, settings.tasks.size(), task);
    json value;
    if (task == "val_loss" || task == "position_loss") {
      if (!losses) {
        const int64_t batches = std::min<int64_t>(settings.batches, prepared.val->n_batches());
        losses = validation_position_loss(
            logits_of, *prepared.val, f.data.batch_size, T, batches, settings.position_buckets,
            rows_per_forward,
            [&](int64_t done, int64_t total) { line.update(done, total, "batches"); });
      } else {
        line.note("from the same pass over the validation batches");
      }
      value = task == "val_loss" ? losses->val_loss_json() : losses->position_loss_json();
    } else if (task == "mqar") {
      line.note(std::to_string(settings.mqar_sequences) + " eval sequences");
      value = mqar_json(logits_of, f, settings);
    } else if (task == "passkey") {
      const TailLogitsFn tail_logits_of = [&](const torch::Tensor& idx_BT, int64_t n) {
        return model->forward_tail(idx_BT.to(device), n);
      };
      value = passkey_accuracy(
          tail_logits_of, *prepared.passkey, f.vocab_limit,
          [&](int64_t done, int64_t total) { line.update(done, total, "prompts"); });
    } else {
      line.note(std::to_string(settings.generation_new_tokens) + " tokens, greedy, KV cache");
      value = generation_json(model, f, settings, *prepared.val);
    }
    results.push_back({"eval/" + task, std::move(value)});
  }
  return results;
}

}  // namespace attnlab::eval
