// `attnlab eval`'s library: the evaluation tasks of a trained decoder (issue 19) — validation
// loss and perplexity, loss per position bucket, MQAR accuracy per gap, passkey retrieval over
// a grid of (length, depth), and cached generation speed and memory — configured by the
// config's `eval:` section. Each task returns one row of the store's `evals` table.
// docs/EVALUATION.md describes the tasks and their JSON values.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attnlab/config/schema.h"
#include "attnlab/model/decoder.h"

namespace attnlab::eval {

inline constexpr const char* kTasks[] = {"val_loss", "position_loss", "mqar", "passkey",
                                         "generation"};

struct EvalSettings {                    // the config's `eval:` section
  std::vector<std::string> tasks;        // subset of kTasks, in this order of running
  int64_t batches = 8;                   // validation batches (train.batch_size x train.seq_len)
  int64_t position_buckets = 16;         // equal-width buckets of position over [0, T)
  int64_t mqar_sequences = 256;          // eval-stream sequences for mqar
  std::vector<int64_t> passkey_lengths;  // L values; empty: {T/4, T/2, T} of train.seq_len
  std::vector<double> passkey_depths{0.0, 0.25, 0.5, 0.75, 1.0};
  int64_t passkey_trials = 4;              // prompts per (L, d), seeds 0..trials-1
  std::vector<std::string> passkey_files;  // filler documents (JSONL/txt); empty: passkey refuses
  int64_t generation_prompt_tokens = 32, generation_new_tokens = 32;
  // Validates the section against eval_schema() (defaults filled in) and the rules between
  // keys; throws config::ConfigError naming eval.<key>.
  static EvalSettings from_json(const nlohmann::json& eval_section);
};

// The `eval:` keys with defaults, types, ranges and help.
config::SectionSchema eval_schema();

// What one task measured: stored by the caller as an evals row (name, value_json).
struct EvalResult {
  std::string name;
  nlohmann::json value;
};

// Runs settings.tasks, in order, on a trained model (put in eval mode here, restored after)
// whose run config is `config_tree` (the composed JSON tree: model, data, train, attention, ...).
// `progress` gets one line per task (and within long tasks) with done/total and an ETA.
// A task that cannot run for this config (mqar on shard data, passkey without files,
// generation with a variant without decoding, ...) throws std::invalid_argument saying which
// eval.tasks entry to drop or what to set; this is checked for every task before any runs.
std::vector<EvalResult> evaluate(model::Decoder& model, const nlohmann::json& config_tree,
                                 const EvalSettings& settings,
                                 const std::function<void(const std::string&)>& progress);

}  // namespace attnlab::eval
