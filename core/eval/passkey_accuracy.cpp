// Passkey retrieval accuracy over (length, depth); see passkey_accuracy.h.
#include "attnlab/eval/passkey_accuracy.h"

#include <torch/torch.h>

#include <stdexcept>

namespace attnlab::eval {

PasskeyGrid passkey_grid(const data::Tokenizer& tokenizer, const std::vector<int32_t>& filler,
                         const std::vector<int64_t>& lengths, const std::vector<double>& depths,
                         int64_t trials) {
  if (lengths.empty() || depths.empty() || trials < 1)
    throw std::invalid_argument("passkey_grid: needs at least one length, one depth and one trial");
  PasskeyGrid grid{lengths, depths, trials, {}};
  for (const auto length : lengths)
    for (const auto depth : depths)
      for (int64_t k = 0; k < trials; ++k)
        grid.prompts.push_back(
            data::passkey_prompt(tokenizer, filler, {length, depth, uint64_t(k)}));
  return grid;
}

bool passkey_correct(const TailLogitsFn& logits_of, const data::PasskeyPrompt& prompt,
                     int64_t vocab_limit) {
  const int64_t L = int64_t(prompt.tokens.size()), n = int64_t(prompt.answer.size());
  if (L < 1 || n < 1) throw std::invalid_argument("passkey_correct: empty prompt or answer");
  std::vector<int64_t> input(prompt.tokens.begin(), prompt.tokens.end());
  input.insert(input.end(), prompt.answer.begin(), prompt.answer.end() - 1);
  const auto idx_1T = torch::tensor(input, torch::kInt64).unsqueeze(0);
  auto logits_NV = logits_of(idx_1T, n)[0];  // the positions predicting the answer
  if (vocab_limit > 0 && vocab_limit < logits_NV.size(-1))
    logits_NV = logits_NV.narrow(-1, 0, vocab_limit);
  const auto chosen_N = logits_NV.argmax(-1).to(torch::kCPU);
  const auto answer_N =
      torch::tensor(std::vector<int64_t>(prompt.answer.begin(), prompt.answer.end()));
  return chosen_N.equal(answer_N);
}

nlohmann::json passkey_accuracy(const TailLogitsFn& logits_of, const PasskeyGrid& grid,
                                int64_t vocab_limit,
                                const std::function<void(int64_t, int64_t)>& on_prompt) {
  const int64_t n_depths = int64_t(grid.depths.size()), total = int64_t(grid.prompts.size());
  auto accuracy = nlohmann::json::array();
  int64_t done = 0;
  for (size_t i = 0; i < grid.lengths.size(); ++i) {
    auto row = nlohmann::json::array();
    for (int64_t j = 0; j < n_depths; ++j) {
      int64_t right = 0;
      for (int64_t k = 0; k < grid.trials; ++k) {
        right += passkey_correct(logits_of, grid.prompts.at(size_t(done)), vocab_limit);
        if (on_prompt) on_prompt(++done, total);
      }
      row.push_back(double(right) / double(grid.trials));
    }
    accuracy.push_back(row);
  }
  return {{"lengths", grid.lengths},
          {"depths", grid.depths},
          {"accuracy", accuracy},
          {"trials", grid.trials}};
}

}  // namespace attnlab::eval
