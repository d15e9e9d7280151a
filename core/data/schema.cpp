// The keys of the `data` config section, with defaults and descriptions; see data/schema.h.
#include "attnlab/data/schema.h"

namespace attnlab::config {

namespace {

// data.kind and the data.mqar.* keys (see attnlab/data/mqar.h); `key` adds one to the section.
template <class AddKey>
void add_mqar_keys(AddKey& key) {
  using nlohmann::json;
  key("kind", ValueType::String, "shards",
      "where the training sequences come from: shards (train_files/val_files) or mqar "
      "(generated multi-query associative recall, loss on the answers only; data.mqar.*)")
      ->choices = {"shards", "mqar"};
  // Each pointer is used before the next key is added (adding may move the keys).
  auto* pairs = key("mqar.pairs", ValueType::Int, 8,
                    "MQAR: key-value pairs at the start of each sequence");
  pairs->min = 1;
  pairs->max = 1 << 20;
  auto* queries = key("mqar.queries", ValueType::Int, 8,
                      "MQAR: queries per sequence (each asks a different pair; at most mqar.pairs)");
  queries->min = 1;
  queries->max = 1 << 20;
  key("mqar.gaps", ValueType::List, json::array({16, 64, 256}),
      "MQAR: the distances (tokens) from a pair's key to its query, one drawn per query; "
      "accuracy is reported per gap");
  auto* seed = key("mqar.seed", ValueType::Int, 0,
                   "MQAR: seed of the generated sequences (the train and eval streams are disjoint)");
  seed->min = 0;
  seed->max = 4294967295.0;
  auto* train = key("mqar.train_sequences", ValueType::Int, 20000,
                    "MQAR: training sequences per epoch (the order follows data.order_seed)");
  train->min = 1;
  train->max = 4294967295.0;  // an epoch's order holds at most 2^32 - 1 windows
  auto* val = key("mqar.val_sequences", ValueType::Int, 256,
                  "MQAR: eval-stream sequences the validation loss reads (0: no validation)");
  val->min = 0;
  val->max = 4294967295.0;
}

}  // namespace

SectionSchema data_schema() {
  using nlohmann::json;
  SectionSchema s;
  s.path = "data";
  s.owner = "data";
  auto key = [&](std::string name, ValueType type, json default_value, std::string description) {
    KeySchema k;
    k.key = std::move(name);
    k.type = type;
    k.default_value = std::move(default_value);
    k.description = std::move(description);
    s.keys.push_back(std::move(k));
    return &s.keys.back();
  };
  key("tokenizer", ValueType::String, "gpt2",
      "tokenizer the shards were made with: a folder name under tokenizer_dir")
      ->choices = {"gpt2", "qwen3"};
  key("tokenizer_dir", ValueType::String, "../shared/tokenizers",
      "folder holding one sub-folder per tokenizer (gpt2/encoder.json+vocab.bpe, "
      "qwen3/tokenizer.json)");
  key("train_files", ValueType::List, json(),
      "llm.c token shards to train on (glob patterns allowed, expanded in sorted order)");
  key("val_files", ValueType::List, json::array(),
      "validation shards; empty: hold out the first val_tokens tokens of train_files");
  key("val_tokens", ValueType::Int, 32768,
      "validation token budget read from the start of val_files (0: no validation)")
      ->min = 0;
  auto* order_seed = key("order_seed", ValueType::Int, -1,
                         "seed of the order in which training windows are read; -1 follows `seed`");
  order_seed->min = -1;
  order_seed->max = 4294967295.0;
  auto* vocab = key("vocab_size", ValueType::Int, 50257,
                    "the tokenizer's vocabulary size (GPT-2 50257, Qwen3 151669); a token id at "
                    "or above it in a shard is an error");
  vocab->min = 1;
  vocab->max = 4294967296.0;
  auto* padded = key("padded_vocab_size", ValueType::Int, 50304,
                     "embedding rows for model presets that follow the data "
                     "(model.vocab_size: ${data.padded_vocab_size}): vocab_size rounded up to a "
                     "multiple of 64 (GPT-2 50304, Qwen3 151680)");
  padded->min = 1;
  padded->max = 4294967296.0;
  add_mqar_keys(key);
  return s;
}

}  // namespace attnlab::config
