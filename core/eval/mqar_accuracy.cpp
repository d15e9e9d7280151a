// MQAR accuracy per gap; see mqar_accuracy.h.
#include "attnlab/eval/mqar_accuracy.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

namespace attnlab::eval {

namespace {

// Adds the queries of `sequences` to `counts` (by gap), given their logits' argmax [B, T].
void score(const std::vector<data::MqarSequence>& sequences, const torch::Tensor& argmax_BT,
           std::map<int, GapAccuracy>& counts) {
  const auto predicted = argmax_BT.accessor<int64_t, 2>();
  for (size_t b = 0; b < sequences.size(); ++b) {
    for (const auto& q : sequences[b].queries) {
      auto& bucket = counts[q.gap];
      bucket.gap = q.gap;
      bucket.correct += predicted[int64_t(b)][q.position] == q.answer;
      ++bucket.total;
    }
  }
}

}  // namespace

MqarAccuracy mqar_accuracy(const LogitsFn& logits_of, const data::MqarOptions& options,
                           int64_t n_sequences, int64_t batch_size) {
  if (n_sequences < 1 || batch_size < 1)
    throw std::invalid_argument("mqar_accuracy: n_sequences and batch_size must be >= 1 (got " +
                                std::to_string(n_sequences) + ", " + std::to_string(batch_size) +
                                ")");
  data::check_mqar_options(options);
  const int64_t T = options.seq_len;
  std::map<int, GapAccuracy> counts;
  for (int64_t first = 0; first < n_sequences; first += batch_size) {
    const int64_t B = std::min(batch_size, n_sequences - first);
    std::vector<data::MqarSequence> sequences;
    auto idx_BT = torch::empty({B, T}, torch::kInt64);
    int64_t* idx = idx_BT.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) {
      sequences.push_back(data::mqar_sequence(options, data::MqarSplit::Eval, uint64_t(first + b)));
      const auto& tokens = sequences.back().tokens;
      std::copy(tokens.begin(), tokens.begin() + T, idx + b * T);  // inputs: the first T tokens
    }
    const auto logits_BTV = logits_of(idx_BT);
    score(sequences, logits_BTV.argmax(-1).to(torch::kCPU, torch::kInt64), counts);
  }
  MqarAccuracy result;
  for (const auto& [gap, bucket] : counts) {
    result.by_gap.push_back(bucket);
    result.correct += bucket.correct;
    result.total += bucket.total;
  }
  return result;
}

MqarAccuracy mqar_accuracy(model::Decoder& model, const data::MqarOptions& options,
                           int64_t n_sequences, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const auto device = model->parameters().front().device();
  const auto result = mqar_accuracy(
      [&](const torch::Tensor& idx_BT) { return model->forward(idx_BT.to(device)); }, options,
      n_sequences, batch_size);
  model->train(was_training);
  return result;
}

}  // namespace attnlab::eval
