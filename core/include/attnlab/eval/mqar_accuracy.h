// MQAR accuracy of a model on the eval stream (attnlab/data/mqar.h), per query gap: a query is
// answered when the argmax of the logits at its position is its pair's value. Greedy over the
// whole vocabulary (no restriction to the value range), as Zoology scores it.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "attnlab/data/mqar.h"
#include "attnlab/eval/logits_fn.h"
#include "attnlab/model/decoder.h"

namespace attnlab::eval {

struct GapAccuracy {
  int gap = 0;
  int64_t correct = 0, total = 0;
  double accuracy() const { return total ? double(correct) / double(total) : 0.0; }
};

struct MqarAccuracy {
  std::vector<GapAccuracy> by_gap;  // ascending gap; only gaps some query had
  int64_t correct = 0, total = 0;   // over every query
  double accuracy() const { return total ? double(correct) / double(total) : 0.0; }
};

// Eval-stream sequences 0 .. n_sequences-1 of `options`, in batches of batch_size (the last
// may be smaller), scored through `logits_of`. Throws std::invalid_argument on n_sequences or
// batch_size < 1, data::DataError on bad options.
MqarAccuracy mqar_accuracy(const LogitsFn& logits_of, const data::MqarOptions& options,
                           int64_t n_sequences, int64_t batch_size);

// The same for a decoder: in eval mode without gradients, inputs on its parameters' device;
// its train/eval mode is restored afterwards.
MqarAccuracy mqar_accuracy(model::Decoder& model, const data::MqarOptions& options,
                           int64_t n_sequences, int64_t batch_size);

}  // namespace attnlab::eval
