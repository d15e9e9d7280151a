// attnlab generate: text from a trained run. Finds the run (by name, id or checkpoint path),
// rebuilds its model from the config the store recorded and loads its checkpoint
// (attnlab/run/load_run.h), encodes the prompt with the run's tokenizer and streams the
// continuation to stdout token by token, decoding with the model's KV cache
// (attnlab/model/generation.h); the speed and the cache's size go to stderr at the end.

#include <algorithm>
#include <iostream>
#include <optional>

#include "attnlab/data/tokenizer.h"
#include "attnlab/model/generation.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/run/load_run.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {
namespace {

const std::string kUsage =
    std::string(
        "RUN|CHECKPOINT --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K]\n"
        "       [--top-p P] [--seed S] [--verify] [--db PATH]\n\n"
        "Continues TEXT with a trained run's model and prints the new text to stdout as each\n"
        "token is chosen; at the end stderr gets tokens/s and the KV cache's bytes per token\n"
        "and peak.\n\n") +
    run::kTargetHelp +
    "The model, plugin and tokenizer are the run's (its stored config). The prompt is encoded\n"
    "after <|endoftext|>, as every training document starts; --prompt '' samples from\n"
    "nothing. Decoding reads a KV cache: a variant with a bounded reach (kv_reach() = w, e.g.\n"
    "fixed_window with adaptive_threshold 0) keeps a rolling cache of w + 1 positions per\n"
    "layer, others keep every position; a plugin without decoding is refused.\n\n"
    "Sampling: softmax(logits / T), then the top-k, then the top-p nucleus; T = 0 is greedy.\n"
    "The same --seed gives the same text. --verify recomputes every step without the cache (a\n"
    "full forward over the sequence so far) and exits 1 naming the step and both tokens if\n"
    "they differ (costs a forward over the whole sequence per token).";

std::string describe_cache(const model::KVCache& cache) {
  const int64_t reach = cache.layer(0).reach();
  if (!cache.is_rolling()) return "unbounded kv_reach: every position kept";
  return "rolling, kv_reach " + std::to_string(reach) + ": at most " + std::to_string(reach + 1) +
         " positions per layer";
}

void print_summary(const model::GenerationResult& r, const model::KVCache& cache,
                   int64_t prompt_tokens, bool verified) {
  std::fprintf(stderr,
               "attnlab generate: %zu new tokens in %.3f s: %.1f tokens/s (prompt of %lld tokens: "
               "%.3f s)\n"
               "attnlab generate: KV cache: %lld bytes per token, peak %lld bytes (%s)\n",
               r.tokens.size(), r.prompt_seconds + r.decode_seconds, r.tokens_per_second(),
               static_cast<long long>(prompt_tokens), r.prompt_seconds,
               static_cast<long long>(r.cache_bytes_per_token),
               static_cast<long long>(r.cache_peak_bytes), describe_cache(cache).c_str());
  if (verified) {
    std::fprintf(stderr,
                 "attnlab generate: --verify: every token equals the full recomputation's\n");
  }
}

}  // namespace

int cmd_generate(const Args& args) {
  po::options_description options("generate");
  options.add_options()("prompt", po::value<std::string>(), "the text to continue (required)")(
      "max-new-tokens", po::value<int64_t>()->default_value(64), "tokens to generate")(
      "temperature", po::value<double>()->default_value(1.0),
      "softmax temperature; 0 = greedy (argmax)")("top-k", po::value<int64_t>()->default_value(0),
                                                  "sample among the k most probable; 0 = all")(
      "top-p", po::value<double>()->default_value(1.0),
      "then among the fewest most probable tokens with mass >= p; 1 = all")(
      "seed", po::value<uint64_t>()->default_value(0), "sampling seed (same seed, same text)")(
      "verify", po::bool_switch(), "recompute every step without the cache; fail on a difference")(
      "db", po::value<std::string>(), "results store (default results/attnlab.db or ATTNLAB_DB)");
  const auto parsed = parse_args("generate", kUsage, options, args, "target");
  if (parsed.help) return 0;
  const auto& vm = parsed.vm;
  if (parsed.positional.size() != 1) throw UsageError("expected one RUN or CHECKPOINT path");
  if (!vm.count("prompt")) throw UsageError("--prompt TEXT is required");
  model::SamplingOptions sampling{vm["temperature"].as<double>(), vm["top-k"].as<int64_t>(),
                                  vm["top-p"].as<double>()};
  try {
    model::check_sampling_options(sampling);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  model::GenerationOptions generation;
  generation.max_new_tokens = vm["max-new-tokens"].as<int64_t>();
  generation.verify = vm["verify"].as<bool>();
  if (generation.max_new_tokens < 0) throw UsageError("--max-new-tokens must be >= 0");

  const auto db =
      vm.count("db") ? std::optional<std::string>(vm["db"].as<std::string>()) : std::nullopt;
  const auto target = run::resolve_target(parsed.positional.front(), db, default_db_path());
  const auto tree = nlohmann::json::parse(target.run.config_json);
  plugin::PluginRegistry plugins(default_plugin_dir());
  auto loaded = run::load_run(target, tree, plugins);
  const auto tokenizer =
      data::Tokenizer::load(tree.at("data").at("tokenizer").get<std::string>(),
                            tree.at("data").at("tokenizer_dir").get<std::string>());
  std::vector<int64_t> prompt = {tokenizer.eot_id()};
  for (const int32_t id : tokenizer.encode(vm["prompt"].as<std::string>())) prompt.push_back(id);
  generation.vocab_limit =
      std::min<int64_t>(tokenizer.vocab_size(), loaded.model->config().vocab_size);

  auto cache = loaded.model->make_kv_cache(loaded.plugin);
  std::fprintf(stderr,
               "attnlab generate: %s/%s (plugin %s, %lld trained steps), prompt of %zu tokens\n",
               target.run.experiment.c_str(), target.run.name.c_str(), loaded.plugin.c_str(),
               static_cast<long long>(loaded.trained_steps), prompt.size());
  model::Sampler sampler(sampling, vm["seed"].as<uint64_t>());
  model::GenerationResult result;
  try {
    result = model::generate(loaded.model, cache, prompt, sampler, generation, [&](int64_t id) {
      const auto id32 = static_cast<int32_t>(id);
      std::cout << tokenizer.decode(&id32, 1) << std::flush;
    });
  } catch (const model::VerifyError& e) {
    std::cout << std::endl;
    const auto text = [&](int64_t id) {
      const auto id32 = static_cast<int32_t>(id);
      return nlohmann::json(tokenizer.decode(&id32, 1))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    throw std::runtime_error(std::string(e.what()) + " (" + text(e.cached_token) + " vs " +
                             text(e.full_token) + ")");
  }
  std::cout << std::endl;
  print_summary(result, cache, static_cast<int64_t>(prompt.size()), generation.verify);
  return 0;
}

}  // namespace attnlab::cli
