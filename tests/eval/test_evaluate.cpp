// evaluate() on tiny random decoders: val_loss and position_loss against an fp64 loop over
// every target (shards) and over the answers only (MQAR), the mqar, passkey and generation
// values' shapes and invariants, the model's mode restored, and every refusal (before any
// task runs) naming what to set or drop.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "attnlab/data/loader.h"
#include "attnlab/eval/evaluate.h"
#include "attnlab/eval/position_loss.h"
#include "eval_fixture.h"

using namespace attnlab;

namespace {

// A run's model with every weight redrawn from N(0, 0.3): logits far from uniform.
model::Decoder random_model(const spec::RunSpec& spec) {
  auto model = spec::build_model(spec, *test::eval_plugins());
  torch::manual_seed(11);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.normal_(0.0, 0.3);
  return model;
}

// Sums of -log softmax(logits)[target] in fp64, by hand, per input position t over the first
// `batches` validation batches, counting only targets with mask 1 (MQAR) or all (shards).
struct NaiveLosses {
  std::vector<double> sum;
  std::vector<int64_t> count;
};

NaiveLosses naive_losses(model::Decoder& model, const spec::RunSpec& spec, int64_t batches) {
  const int64_t B = spec.train.batch_size, T = spec.train.seq_len;
  data::ValidationSet val(spec.data);
  NaiveLosses out{std::vector<double>(size_t(T), 0.0), std::vector<int64_t>(size_t(T), 0)};
  std::vector<int32_t> tokens(size_t(B * (T + 1)));
  std::vector<uint8_t> mask(size_t(B * T), 1);
  model->eval();
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < batches; ++i) {
    val.batch(size_t(i), tokens.data(), val.masks_loss() ? mask.data() : nullptr);
    auto idx_BT = torch::empty({B, T}, torch::kInt64);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) idx_BT[b][t] = int64_t(tokens[size_t(b * (T + 1) + t)]);
    const auto logits = model->forward(idx_BT).to(torch::kFloat64).contiguous();
    const auto l = logits.accessor<double, 3>();
    const int64_t V = logits.size(2);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T; ++t) {
        if (!mask[size_t(b * T + t)]) continue;
        double top = l[b][t][0];
        for (int64_t v = 1; v < V; ++v) top = std::max(top, l[b][t][v]);
        double z = 0.0;
        for (int64_t v = 0; v < V; ++v) z += std::exp(l[b][t][v] - top);
        const int32_t target = tokens[size_t(b * (T + 1) + t + 1)];
        out.sum[size_t(t)] += top + std::log(z) - l[b][t][target];
        ++out.count[size_t(t)];
      }
    }
  }
  return out;
}

// Checks eval/val_loss and eval/position_loss against the naive sums, buckets [i·T/n, (i+1)·T/n).
void check_losses(const nlohmann::json& val_loss, const nlohmann::json& position_loss,
                  const NaiveLosses& naive, int64_t n_buckets) {
  const int64_t T = int64_t(naive.sum.size());
  double total = 0.0;
  int64_t tokens = 0;
  REQUIRE(position_loss.at("loss").size() == size_t(n_buckets));
  for (int64_t i = 0; i < n_buckets; ++i) {
    const int64_t start = i * T / n_buckets, end = (i + 1) * T / n_buckets;
    CHECK(position_loss.at("bucket_start")[size_t(i)] == start);
    CHECK(position_loss.at("bucket_end")[size_t(i)] == end);
    double sum = 0.0;
    int64_t count = 0;
    for (int64_t t = start; t < end; ++t) {
      sum += naive.sum[size_t(t)];
      count += naive.count[size_t(t)];
    }
    INFO("bucket " << i);
    CHECK(position_loss.at("tokens")[size_t(i)] == count);
    if (count == 0)
      CHECK(position_loss.at("loss")[size_t(i)].is_null());
    else
      CHECK(position_loss.at("loss")[size_t(i)].get<double>() == Approx(sum / count).epsilon(1e-5));
    total += sum;
    tokens += count;
  }
  REQUIRE(tokens > 0);
  CHECK(val_loss.at("tokens") == tokens);
  CHECK(val_loss.at("loss").get<double>() == Approx(total / tokens).epsilon(1e-5));
  CHECK(val_loss.at("perplexity").get<double>() == Approx(std::exp(total / tokens)).epsilon(1e-5));
}

std::map<std::string, nlohmann::json> by_name(const std::vector<eval::EvalResult>& results) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& r : results) out[r.name] = r.value;
  return out;
}

eval::EvalSettings settings_for(std::vector<std::string> tasks) {
  eval::EvalSettings s;
  s.tasks = std::move(tasks);
  return s;
}

// The message of the std::invalid_argument evaluate() throws; fails if none. `lines` counts
// progress lines (none may come: the checks run before any task).
std::string refusal(model::Decoder& model, const spec::RunSpec& spec, const eval::EvalSettings& s) {
  int lines = 0;
  try {
    eval::evaluate(model, spec.cell.tree, s, [&](const std::string&) { ++lines; });
  } catch (const std::invalid_argument& e) {
    CHECK(lines == 0);
    return e.what();
  }
  FAIL("evaluate did not refuse");
  return {};
}

// Causal softmax attention that does not declare decoding (supports_decoding() false).
class NoDecoding : public AttentionVariant {
 public:
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const AttentionContext&) override {
    const int64_t group = q.size(1) / k.size(1), T = q.size(2);
    auto s = torch::matmul(q, k.repeat_interleave(group, 1).transpose(-2, -1)) /
             std::sqrt(double(q.size(-1)));
    s = s.masked_fill(torch::ones({T, T}, torch::kBool).triu(1), -INFINITY);
    return torch::matmul(s.softmax(-1), v.repeat_interleave(group, 1));
  }
  AttentionFlops flops(int64_t) const override { return {}; }
};

const std::vector<std::string> kShardOverrides = {"train.seq_len=24", "train.batch_size=3"};

}  // namespace

TEST_CASE("val_loss and position_loss on shards equal an fp64 loop over every target",
          "[evaluate][position_loss]") {
  const auto spec = test::eval_spec("fineweb_sample", "dense", kShardOverrides);
  auto model = random_model(spec);
  model->train();
  auto s = settings_for({"position_loss", "val_loss"});
  s.batches = 2;
  s.position_buckets = 5;  // 24 / 5: buckets of 4 and 5 positions
  std::vector<std::string> lines;
  const auto results =
      eval::evaluate(model, spec.cell.tree, s, [&](const std::string& l) { lines.push_back(l); });
  CHECK(model->is_training());  // restored
  REQUIRE(results.size() == 2);
  CHECK(results[0].name == "eval/position_loss");  // in the order asked
  CHECK(results[1].name == "eval/val_loss");
  const auto naive = naive_losses(model, spec, 2);
  check_losses(results[1].value, results[0].value, naive, 5);
  CHECK(results[1].value.at("tokens") == 2 * 3 * 24);
  REQUIRE(lines.size() >= 2);  // 1/2 batches too when the first took over 2 s
  CHECK_THAT(lines[lines.size() - 2], Catch::StartsWith("eval 1/2 position_loss: 2/2 batches, ") &&
                                          Catch::EndsWith("ETA 0.0 s"));
  CHECK(lines.back() == "eval 2/2 val_loss: from the same pass over the validation batches");

  SECTION("two rows per forward: the same sums") {
    data::ValidationSet val(spec.data);
    torch::NoGradGuard no_grad;
    const auto split = eval::validation_position_loss(
        [&](const torch::Tensor& idx_BT) {
          CHECK(idx_BT.size(0) <= 2);
          return model->forward(idx_BT);
        },
        val, 3, 24, 2, 5, 2, nullptr);
    check_losses(split.val_loss_json(), split.position_loss_json(), naive, 5);
  }
}

TEST_CASE("MQAR: losses over the answers only, accuracy per gap, empty buckets null",
          "[evaluate][mqar]") {
  const auto spec =
      test::eval_spec("mqar", "dense",
                      {"train.seq_len=48", "train.batch_size=8", "data.vocab_size=128",
                       "data.padded_vocab_size=128", "data.mqar.pairs=4", "data.mqar.queries=4",
                       "data.mqar.gaps=[8,20,36]", "data.mqar.val_sequences=32"});
  auto model = random_model(spec);
  auto s = settings_for({"val_loss", "position_loss", "mqar"});
  s.batches = 3;
  s.position_buckets = 8;  // bucket 0 = positions 0..5: the pairs, never an answer
  s.mqar_sequences = 20;
  const auto r = by_name(eval::evaluate(model, spec.cell.tree, s, nullptr));
  const auto naive = naive_losses(model, spec, 3);
  check_losses(r.at("eval/val_loss"), r.at("eval/position_loss"), naive, 8);
  CHECK(r.at("eval/val_loss").at("tokens") == 3 * 8 * 4);  // 4 answers per sequence
  CHECK(r.at("eval/position_loss").at("loss")[0].is_null());
  const auto& m = r.at("eval/mqar");
  CHECK(m.at("gaps") == nlohmann::json({8, 20, 36}));
  int64_t correct = 0, total = 0;
  for (size_t i = 0; i < m.at("gaps").size(); ++i) {
    correct += m.at("correct")[i].get<int64_t>();
    total += m.at("total")[i].get<int64_t>();
    CHECK(m.at("accuracy")[i].get<double>() ==
          Approx(m.at("correct")[i].get<double>() / m.at("total")[i].get<double>()));
  }
  CHECK(total == 20 * 4);
  CHECK(m.at("overall").get<double>() == Approx(double(correct) / double(total)));
}

TEST_CASE("passkey and generation values from a tiny shard model",
          "[evaluate][passkey][generation]") {
  const auto spec = test::eval_spec("fineweb_sample", "dense", kShardOverrides);
  auto model = random_model(spec);
  auto s = settings_for({"passkey", "generation"});
  s.passkey_files = {std::string(ATTNLAB_SHARED_DIR) + "/data/fineweb/fineweb-sample-300.jsonl"};
  s.passkey_lengths = {24, 40};  // 40 > train.seq_len: RoPE extrapolation
  s.passkey_depths = {0.0, 1.0};
  s.passkey_trials = 2;
  s.generation_prompt_tokens = 8;
  s.generation_new_tokens = 5;
  const auto r = by_name(eval::evaluate(model, spec.cell.tree, s, nullptr));
  const auto& p = r.at("eval/passkey");
  CHECK(p.at("lengths") == nlohmann::json({24, 40}));
  CHECK(p.at("depths") == nlohmann::json({0.0, 1.0}));
  CHECK(p.at("trials") == 2);
  REQUIRE(p.at("accuracy").size() == 2);
  for (const auto& row : p.at("accuracy")) {
    REQUIRE(row.size() == 2);
    for (const auto& a : row) CHECK((a == 0.0 || a == 0.5 || a == 1.0));
  }
  const auto& g = r.at("eval/generation");
  const auto& c = spec.model;
  CHECK(g.at("prompt_tokens") == 8);
  CHECK(g.at("new_tokens") == 5);
  CHECK(g.at("rolling") == false);
  CHECK(g.at("cache_bytes_per_token") == c.n_layer * 2 * c.n_kv_head * c.head_dim * 4);
  CHECK(g.at("cache_peak_bytes").get<int64_t>() >=
        8 * g.at("cache_bytes_per_token").get<int64_t>());
  CHECK(g.at("tokens_per_s").get<double>() > 0.0);
}

TEST_CASE("generation with a window: a rolling cache bounded by the reach",
          "[evaluate][generation]") {
  auto overrides = kShardOverrides;
  overrides.push_back("attention.options.window=4");
  const auto spec = test::eval_spec("fineweb_sample", "fixed_window", overrides);
  auto model = random_model(spec);
  auto s = settings_for({"generation"});
  s.generation_prompt_tokens = 16;
  s.generation_new_tokens = 6;
  const auto g = by_name(eval::evaluate(model, spec.cell.tree, s, nullptr)).at("eval/generation");
  CHECK(g.at("rolling") == true);
  CHECK(g.at("new_tokens") == 6);
  CHECK(g.at("cache_peak_bytes") == (4 + 1) * g.at("cache_bytes_per_token").get<int64_t>());
}

TEST_CASE("evaluate refuses tasks the run cannot do, before running any", "[evaluate][errors]") {
  const auto shards = test::eval_spec("fineweb_sample", "dense", kShardOverrides);
  auto model = random_model(shards);
  CHECK_THAT(
      refusal(model, shards, settings_for({"val_loss", "mqar"})),
      Catch::Contains("needs data.kind mqar") && Catch::Contains("drop mqar from eval.tasks"));
  CHECK_THAT(refusal(model, shards, settings_for({"val_loss", "passkey"})),
             Catch::Contains("set eval.passkey_files"));
  auto s = settings_for({"passkey"});
  s.passkey_files = {std::string(ATTNLAB_SHARED_DIR) + "/data/fineweb/fineweb-sample-300.jsonl"};
  s.passkey_lengths = {10};  // shorter than the needle and the question
  CHECK_THAT(refusal(model, shards, s),
             Catch::Contains("passkey length 10") && Catch::Contains("eval.passkey_lengths [10]"));
  s = settings_for({"generation"});
  s.generation_prompt_tokens = 25;
  CHECK_THAT(refusal(model, shards, s), Catch::Contains("at most train.seq_len (24)"));

  const auto no_val = test::eval_spec(
      "fineweb_sample", "dense", {"train.seq_len=24", "train.batch_size=3", "data.val_tokens=0"});
  CHECK_THAT(refusal(model, no_val, settings_for({"position_loss"})),
             Catch::Contains("data.val_tokens") && Catch::Contains("drop position_loss"));

  const auto mqar =
      test::eval_spec("mqar", "dense",
                      {"train.seq_len=48", "train.batch_size=8", "data.vocab_size=128",
                       "data.padded_vocab_size=128", "data.mqar.gaps=[8,20]", "data.mqar.pairs=4",
                       "data.mqar.queries=2"});
  auto mqar_model = random_model(mqar);
  s = settings_for({"passkey"});
  s.passkey_files = {"filler.jsonl"};
  CHECK_THAT(refusal(mqar_model, mqar, s), Catch::Contains("data.kind mqar has no text"));

  model::Decoder no_cache(shards.model,
                          [](const attnlab_layer_dims&) { return std::make_shared<NoDecoding>(); });
  CHECK_THAT(refusal(no_cache, shards, settings_for({"val_loss", "generation"})),
             Catch::Contains("does not support decoding") &&
                 Catch::Contains("drop generation from eval.tasks"));
}

TEST_CASE("eval settings: defaults from the schema, errors naming eval.<key>",
          "[evaluate][settings]") {
  const auto d = eval::EvalSettings::from_json(nlohmann::json());
  CHECK(d.tasks == std::vector<std::string>{"val_loss", "position_loss"});
  CHECK(d.batches == 8);
  CHECK(d.position_buckets == 16);
  CHECK(d.mqar_sequences == 256);
  CHECK(d.passkey_lengths.empty());
  CHECK(d.passkey_depths == std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0});
  CHECK(d.passkey_trials == 4);
  CHECK(d.generation_prompt_tokens == 32);
  CHECK(d.generation_new_tokens == 32);
  const auto s = eval::EvalSettings::from_json({{"tasks", {"mqar", "val_loss"}},
                                                {"passkey_lengths", {64, 128}},
                                                {"passkey_depths", {0, 0.5}}});
  CHECK(s.tasks == std::vector<std::string>{"mqar", "val_loss"});
  CHECK(s.passkey_lengths == std::vector<int64_t>{64, 128});
  CHECK(s.passkey_depths == std::vector<double>{0.0, 0.5});
  auto key_of = [](const nlohmann::json& section) {
    try {
      eval::EvalSettings::from_json(section);
    } catch (const config::ConfigError& e) {
      return e.key() + ": " + e.message();
    }
    return std::string("no error");
  };
  CHECK_THAT(key_of({{"tasks", {"val_los"}}}),
             Catch::StartsWith("eval.tasks") && Catch::Contains("choose from val_loss"));
  CHECK_THAT(key_of({{"tasks", {"mqar", "mqar"}}}), Catch::Contains("listed twice"));
  CHECK_THAT(key_of({{"passkey_depths", {0.5, 1.5}}}),
             Catch::StartsWith("eval.passkey_depths: 1.5"));
  CHECK_THAT(key_of({{"passkey_depths", nlohmann::json::array()}}),
             Catch::StartsWith("eval.passkey_depths"));
  CHECK_THAT(key_of({{"passkey_lengths", {0}}}), Catch::StartsWith("eval.passkey_lengths: 0"));
  CHECK_THAT(key_of({{"passkey_files", {3}}}), Catch::StartsWith("eval.passkey_files"));
  CHECK_THAT(key_of({{"batches", 0}}), Catch::StartsWith("eval.batches"));
  CHECK_THAT(key_of({{"batchez", 2}}), Catch::StartsWith("eval.batchez"));
}
