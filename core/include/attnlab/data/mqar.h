// Multi-query associative recall (MQAR; Arora et al. 2023, "Zoology"; the DMA paper's recall
// task): synthetic sequences of key-value pairs followed by queries of some of the keys, each
// to be answered with its pair's value. Deterministic for a seed. The train and eval streams
// never share a generator state, and a sequence belongs to one stream only (the top bit of the
// FNV-1a hash of its tokens, little-endian int32, says which; a draw for the other stream is
// drawn again): no eval sequence equals any train sequence, whatever the seeds.
//
// Layout of one sequence of T+1 tokens (T = seq_len; inputs are tokens[0..T), targets
// tokens[1..T], as the loader cuts every window):
//   tokens[2i], tokens[2i+1]   pair i = (key_i, value_i), i < pairs          (the context)
//   tokens[q],  tokens[q+1]    a query = (key_i, value_i) at q >= 2*pairs     (the queries)
//   every other token          0, the filler (neither a key nor a value)
// Keys come from [1, 1+K) and values from [1+K, vocab_size), K = (vocab_size-1)/2: disjoint
// ranges, distinct within a sequence, so each answer is recoverable from its own sequence.
// A query's gap is q - 2i, the distance from its pair's key to the query's key: for each query a
// gap is drawn uniformly from `gaps` (when no unqueried pair has a free slot at that gap, the
// next gap of the list is tried), then a pair uniformly among those that fit it. The model
// answers a query at input position q: the logits there predict tokens[q+1], the value.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "attnlab/data/error.h"

namespace attnlab::data {

struct MqarOptions {
  uint32_t vocab_size = 0;  // token ids [0, vocab_size): data.vocab_size
  int pairs = 0;            // key-value pairs in the context: data.mqar.pairs
  int queries = 0;          // queries per sequence, <= pairs: data.mqar.queries
  std::vector<int> gaps;    // the query gaps to draw from: data.mqar.gaps
  int seq_len = 0;          // T: a sequence is T+1 tokens (train.seq_len)
  uint64_t seed = 0;        // data.mqar.seed
  uint64_t train_sequences = 0;  // the loader's: sequences per training epoch
  uint64_t val_sequences = 0;    // the loader's: eval sequences the validation loss reads
};

// The two streams: sequence n of stream s starts its generator at
//   state = seed * 0x9E3779B97F4A7C15 ^ (2n + s + 1) * 0xD1B54A32D192ED03   (mod 2^64)
// (s = 0 train, 1 eval): distinct (stream, n) give distinct states for one seed.
enum class MqarSplit : uint64_t { Train = 0, Eval = 1 };

struct MqarQuery {
  int position = 0;    // q: the query's key is tokens[q]; the logits at input q predict answer
  int32_t key = 0;
  int32_t answer = 0;  // the pair's value, also tokens[q+1]
  int gap = 0;         // q minus the position of the key in its pair
};

struct MqarSequence {
  std::vector<int32_t> tokens;     // T+1 tokens
  std::vector<MqarQuery> queries;  // by position
};

// A DataError naming the key to change (data.mqar.pairs, data.mqar.gaps, data.vocab_size,
// train.seq_len, ...) when the options cannot make a sequence.
void check_mqar_options(const MqarOptions& options);

// Sequence `index` of `split`; checks the options first. A layout that no draw can fill (gaps
// and queries too many for the free slots) is a DataError after 256 draws.
MqarSequence mqar_sequence(const MqarOptions& options, MqarSplit split, uint64_t index);

// The same sequence as a loader row: tokens_T1 gets T+1 tokens, answer_mask_T (may be null)
// 1 at every query position q (its target is the answer), 0 elsewhere.
void mqar_row(const MqarOptions& options, MqarSplit split, uint64_t index, int32_t* tokens_T1,
              uint8_t* answer_mask_T);

// The MQAR options of a validated `data` config section (data.kind mqar) for sequences of
// seq_len tokens.
MqarOptions mqar_options_from_config(const nlohmann::json& data, int seq_len);

}  // namespace attnlab::data
