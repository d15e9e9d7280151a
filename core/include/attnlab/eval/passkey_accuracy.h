// Passkey retrieval accuracy over a grid of prompt lengths L and needle depths d
// (attnlab/data/passkey.h builds the prompts). A trial is right when the model continues its
// prompt with exactly the passkey's answer tokens under greedy decoding, scored teacher-forced:
// one forward of prompt + answer (its last token dropped), and the argmax of the logits at each
// answer position (over ids below vocab_limit) must be that answer token. Greedy decoding
// yields the answer exactly when this holds, since each greedy step then sees the same prefix.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "attnlab/data/passkey.h"
#include "attnlab/data/tokenizer.h"
#include "attnlab/eval/logits_fn.h"

namespace attnlab::eval {

struct PasskeyGrid {
  std::vector<int64_t> lengths;
  std::vector<double> depths;
  int64_t trials = 0;
  // Prompt of (length i, depth j, trial k) at (i·depths + j)·trials + k; trial k has seed k.
  std::vector<data::PasskeyPrompt> prompts;
};

// Builds every prompt of the grid over `filler`. A length, depth or filler that
// passkey_prompt rejects is a DataError naming the value; no length, depth or trial is a
// std::invalid_argument.
PasskeyGrid passkey_grid(const data::Tokenizer& tokenizer, const std::vector<int32_t>& filler,
                         const std::vector<int64_t>& lengths, const std::vector<double>& depths,
                         int64_t trials);

// Whether logits_of, teacher-forced as above, continues `prompt` with prompt.answer.
// vocab_limit: only ids below it compete for the argmax (0: every logit).
bool passkey_correct(const TailLogitsFn& logits_of, const data::PasskeyPrompt& prompt,
                     int64_t vocab_limit);

// eval/passkey's value: {"lengths", "depths", "accuracy" (one row per length, one value per
// depth: right trials / trials), "trials"}. on_prompt(done, total) after each prompt.
nlohmann::json passkey_accuracy(const TailLogitsFn& logits_of, const PasskeyGrid& grid,
                                int64_t vocab_limit,
                                const std::function<void(int64_t, int64_t)>& on_prompt);

}  // namespace attnlab::eval
