// `attnlab generate` end to end: a tiny run trained for 2 steps by the CLI (the smoke
// experiment narrowed as in tests/train), then generated from with --verify by run name, by
// run id and by checkpoint file; the same seed prints the same text; a fixed window of 4 keeps
// a rolling cache of 5 positions (the peak on stderr); a plugin without decoding, a missing
// run and a missing path are refused with what to do.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "../train/cli_process.h"
#include "attnlab/store/store.h"

using namespace attnlab;
using namespace attnlab::test;
namespace fs = std::filesystem;

namespace {

struct TrainedRun {
  fs::path db;
  store::RunRecord run;
};

std::string transcript(const CliOutcome& o) {
  return "exit " + std::to_string(o.exit_code) + "\n--- stdout\n" + o.out + "--- stderr\n" + o.err;
}

// Trains `variant` (with extra overrides) for 2 steps into a fresh folder; returns its run.
TrainedRun train_tiny(const std::string& name, const std::string& variant,
                      const std::vector<std::string>& overrides = {}) {
  const fs::path dir = fs::path(ATTNLAB_BINARY_DIR) / "test_generate_work" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> args = {"train",
                                   "experiments/smoke.yaml",
                                   "attention=" + variant,
                                   "train.steps=2",
                                   "train.seq_len=32",
                                   "train.batch_size=2",
                                   "train.eval_every=2",
                                   "train.threads=1",
                                   "train.peak_flops=1e11",
                                   "data.val_tokens=512",
                                   "model.d_model=32",
                                   "model.head_dim=8",
                                   "model.ffn_hidden=64",
                                   "model.n_layer=2"};
  args.insert(args.end(), overrides.begin(), overrides.end());
  args.insert(args.end(), {"--db", (dir / "x.db").string()});
  CliRun run;
  run.args = args;
  const auto outcome = run_cli(run);
  INFO(transcript(outcome));
  REQUIRE(outcome.exit_code == 0);
  const auto runs = store::Store((dir / "x.db").string()).runs("smoke");
  REQUIRE(runs.size() == 1);
  return {dir / "x.db", runs.front()};
}

CliOutcome generate(const std::vector<std::string>& more) {
  CliRun run;
  run.args = {"generate"};
  run.args.insert(run.args.end(), more.begin(), more.end());
  return run_cli(run);
}

// "<n> bytes per token, peak <m> bytes" from the summary on stderr.
std::pair<long, long> cache_numbers(const std::string& err) {
  static const std::regex re(R"(KV cache: (\d+) bytes per token, peak (\d+) bytes)");
  std::smatch m;
  if (!std::regex_search(err, m, re)) return {-1, -1};
  return {std::stol(m[1]), std::stol(m[2])};
}

}  // namespace

TEST_CASE("generate --verify from a trained dense run", "[generate][cli]") {
  const auto trained = train_tiny("dense", "dense");
  const std::vector<std::string> tail = {"--prompt",         "The weather today",
                                         "--max-new-tokens", "12",
                                         "--top-k",          "20",
                                         "--seed",           "5",
                                         "--verify",         "--db",
                                         trained.db.string()};
  auto by_name = tail;
  by_name.insert(by_name.begin(), "smoke/" + trained.run.name);
  const auto first = generate(by_name);
  INFO(transcript(first));
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.size() > 1);  // the continuation and a newline
  CHECK_THAT(first.err, Catch::Contains("12 new tokens") && Catch::Contains("tokens/s") &&
                            Catch::Contains("--verify: every token equals"));
  // 2 layers x (k, v) x 2 kv heads x head dim 8 x fp32; prompt (EOT + its tokens) + 11 fed
  const auto [per_token, peak] = cache_numbers(first.err);
  CHECK(per_token == 2 * 2 * 2 * 8 * 4);
  CHECK(peak > 12 * per_token);

  auto by_id = tail;
  by_id.insert(by_id.begin(), std::to_string(trained.run.id));
  const auto again = generate(by_id);
  INFO(transcript(again));
  REQUIRE(again.exit_code == 0);
  CHECK(again.out == first.out);  // same run, same seed: same text

  const fs::path run_dir = trained.db.parent_path() / "runs" / "x" / "smoke" / trained.run.name;
  const auto checkpoint = run_dir / "checkpoints" / "step_0000000002.ckpt";
  REQUIRE(fs::exists(checkpoint));
  const auto by_path = generate({checkpoint.string(), "--prompt", "The weather today",
                                 "--max-new-tokens", "12", "--top-k", "20", "--seed", "5"});
  INFO(transcript(by_path));
  REQUIRE(by_path.exit_code == 0);  // the store found beside runs/ without --db
  CHECK(by_path.out == first.out);

  const auto other_seed = generate({run_dir.string(), "--prompt", "The weather today",
                                    "--max-new-tokens", "12", "--top-k", "20", "--seed", "6"});
  REQUIRE(other_seed.exit_code == 0);
  CHECK(other_seed.out != first.out);
}

TEST_CASE("generate with a fixed window keeps a rolling cache of window + 1", "[generate][cli]") {
  const auto trained = train_tiny("fixed_window", "fixed_window", {"attention.options.window=4"});
  const auto outcome =
      generate({"smoke/" + trained.run.name, "--prompt", "Once upon a time", "--max-new-tokens",
                "30", "--verify", "--db", trained.db.string()});
  INFO(transcript(outcome));
  REQUIRE(outcome.exit_code == 0);
  const auto [per_token, peak] = cache_numbers(outcome.err);
  CHECK(per_token == 2 * 2 * 2 * 8 * 4);
  CHECK(peak == 5 * per_token);  // 35 positions decoded, never more than 5 held
  CHECK_THAT(outcome.err, Catch::Contains("rolling, kv_reach 4"));
}

TEST_CASE("generate refuses what it cannot do, saying what to do", "[generate][cli]") {
  const auto trained = train_tiny("head_threshold_gate", "head_threshold_gate");
  const auto refused =
      generate({"smoke/" + trained.run.name, "--prompt", "x", "--db", trained.db.string()});
  INFO(transcript(refused));
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Contains("'head_threshold_gate'") &&
                              Catch::Contains("does not support decoding"));

  const auto missing =
      generate({"smoke/no_such_run", "--prompt", "x", "--db", trained.db.string()});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("no run named 'smoke/no_such_run'"));

  const auto no_path = generate({"results/runs/x/smoke/gone/checkpoints/step_1.ckpt", "--prompt",
                                 "x", "--db", trained.db.string()});
  CHECK(no_path.exit_code == 2);
  CHECK_THAT(no_path.err, Catch::Contains("does not exist"));

  const auto no_prompt = generate({"smoke/" + trained.run.name, "--db", trained.db.string()});
  CHECK(no_prompt.exit_code == 2);
  CHECK_THAT(no_prompt.err, Catch::Contains("--prompt"));

  const auto help = generate({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("--verify") && Catch::Contains("rolling cache"));
}
