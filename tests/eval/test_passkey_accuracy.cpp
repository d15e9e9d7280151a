// Passkey scoring against a stub whose answers are known: a "model" that copies the tokens
// after the needle's " The pass key is" into its predictions, wrong on the answer's last token
// when the passkey's last digit is odd. The teacher-forced verdict is checked against a
// greedy decoding loop written here, and the grid's accuracy against a count of even passkeys.
#include <torch/torch.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "attnlab/data/passkey.h"
#include "attnlab/data/tokenizer.h"
#include "attnlab/eval/passkey_accuracy.h"

using namespace attnlab;

namespace {

const std::string kShared = ATTNLAB_SHARED_DIR;
constexpr int64_t kVocab = 50257;

const data::Tokenizer& gpt2() {
  static const data::Tokenizer t = data::Tokenizer::load("gpt2", kShared + "/tokenizers");
  return t;
}

// Logits [1, T, V + 7] (7 padding ids above the vocabulary, whose logits are the largest of
// all: vocab_limit must keep them out). From the question's end on (its last token is the
// last " The pass key is" of the input), position t predicts the token at the same offset
// after the needle's " The pass key is": it copies the passkey. A passkey whose first token id
// is odd gets its last token wrong (one id higher).
class CopyingStub {
 public:
  torch::Tensor operator()(const torch::Tensor& idx_BT) const {
    REQUIRE(idx_BT.size(0) == 1);
    const std::vector<int64_t> idx(idx_BT.data_ptr<int64_t>(),
                                   idx_BT.data_ptr<int64_t>() + idx_BT.size(1));
    const int64_t T = int64_t(idx.size()), P = int64_t(prefix_.size());
    std::vector<int64_t> found;  // starts of " The pass key is"
    for (int64_t t = 0; t + P <= T; ++t)
      if (std::equal(prefix_.begin(), prefix_.end(), idx.begin() + t)) found.push_back(t);
    REQUIRE(found.size() == 2);  // the needle's and the question's
    const int64_t passkey_at = found.front() + P, question_end = found.back() + P - 1;
    auto logits_TV = torch::rand({T, kVocab + 7}) * 0.1;
    logits_TV.narrow(1, kVocab, 7).fill_(9.0);
    const bool odd = idx[size_t(passkey_at)] % 2 != 0;
    for (int64_t t = question_end; t < T; ++t) {
      const int64_t copy = passkey_at + (t - question_end);
      const bool last = idx[size_t(copy + 1)] == period_;  // the passkey's last token precedes "."
      logits_TV[t][idx[size_t(copy)] + (odd && last ? 1 : 0)] = 5.0;
    }
    return logits_TV.unsqueeze(0);
  }

 private:
  std::vector<int32_t> prefix_ = gpt2().encode(" The pass key is");
  int64_t period_ = gpt2().encode(".")[0];
};

// Greedy decoding written out: append the argmax (below the vocabulary) of the last position
// n times.
std::vector<int32_t> greedy(const CopyingStub& stub, const std::vector<int32_t>& prompt, size_t n) {
  std::vector<int64_t> sequence(prompt.begin(), prompt.end());
  std::vector<int32_t> out;
  for (size_t i = 0; i < n; ++i) {
    const auto logits = stub(torch::tensor(sequence, torch::kInt64).unsqueeze(0));
    const auto last_V = logits[0][int64_t(sequence.size()) - 1].narrow(0, 0, kVocab);
    out.push_back(int32_t(last_V.argmax().item<int64_t>()));
    sequence.push_back(out.back());
  }
  return out;
}

}  // namespace

TEST_CASE("passkey verdicts equal greedy decoding; grid accuracy equals a direct count",
          "[passkey][accuracy]") {
  torch::manual_seed(0);
  const auto filler =
      data::passkey_filler(gpt2(), {kShared + "/data/fineweb/fineweb-sample-300.jsonl"}, 4000);
  const std::vector<int64_t> lengths = {80, 300};
  const std::vector<double> depths = {0.0, 0.5, 1.0};
  const auto grid = eval::passkey_grid(gpt2(), filler, lengths, depths, 5);
  REQUIRE(grid.prompts.size() == 2 * 3 * 5);
  const CopyingStub stub;
  const eval::TailLogitsFn tail = [&](const torch::Tensor& idx_BT, int64_t n) {
    const auto logits_BTV = stub(idx_BT);
    return logits_BTV.narrow(1, logits_BTV.size(1) - n, n);
  };
  std::vector<std::vector<int>> right(2, std::vector<int>(3, 0));
  int wrong_total = 0;
  for (size_t n = 0; n < grid.prompts.size(); ++n) {
    const auto& p = grid.prompts[n];
    REQUIRE(int64_t(p.tokens.size()) == lengths[n / 15]);
    const bool verdict = eval::passkey_correct(tail, p, kVocab);
    CHECK(verdict == (greedy(stub, p.tokens, p.answer.size()) == p.answer));
    CHECK(verdict == (p.tokens[p.passkey_begin] % 2 == 0));
    right[n / 15][(n / 5) % 3] += verdict;
    wrong_total += !verdict;
  }
  CHECK(wrong_total > 0);
  int64_t calls = 0, last_done = 0;
  const auto json = eval::passkey_accuracy(tail, grid, kVocab, [&](int64_t done, int64_t total) {
    CHECK(total == 30);
    last_done = done;
    ++calls;
  });
  CHECK(calls == 30);
  CHECK(last_done == 30);
  CHECK(json.at("lengths") == nlohmann::json(lengths));
  CHECK(json.at("depths") == nlohmann::json(depths));
  CHECK(json.at("trials") == 5);
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 3; ++j)
      CHECK(json.at("accuracy")[i][j].get<double>() == Approx(right[i][j] / 5.0));
  // Without the limit the padding ids win every argmax.
  CHECK_FALSE(eval::passkey_correct(tail, grid.prompts[0], 0));
}
