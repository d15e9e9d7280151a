// attnlab generate: text from a trained run. Finds the run (by name, id or checkpoint path),
// rebuilds its model from the config the store recorded, loads its checkpoint, encodes the
// prompt with the run's tokenizer and streams the continuation to stdout token by token,
// decoding with the model's KV cache (attnlab/model/generation.h); the speed and the cache's
// size go to stderr at the end.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <optional>

#include "attnlab/config/identity.h"
#include "attnlab/data/tokenizer.h"
#include "attnlab/model/generation.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/spec/build_model.h"
#include "attnlab/spec/run_names.h"
#include "attnlab/store/store.h"
#include "attnlab/train/checkpoint.h"
#include "attnlab/train/optimizer.h"
#include "attnlab/util/sha256.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {
namespace {

namespace fs = std::filesystem;

const char* kUsage =
    "RUN|CHECKPOINT --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K]\n"
    "       [--top-p P] [--seed S] [--verify] [--db PATH]\n\n"
    "Continues TEXT with a trained run's model and prints the new text to stdout as each token\n"
    "is chosen; at the end stderr gets tokens/s and the KV cache's bytes per token and peak.\n\n"
    "RUN|CHECKPOINT is one of\n"
    "  EXPERIMENT/RUN or RUN   a run in the store (RUN alone when one experiment has it), e.g.\n"
    "                          'smoke/attention=dense,seed=0'; its newest checkpoint is used\n"
    "  ID                      a run id, as `attnlab report --run ID --config` shows\n"
    "  PATH                    a run folder, its checkpoints/ folder or one step_*.ckpt in it\n"
    "                          (results/runs/<db>/<experiment>/<run>/...); without --db the\n"
    "                          store is the <db>.db beside that runs/ folder\n"
    "The model, plugin and tokenizer are the run's (its stored config). The prompt is encoded\n"
    "after <|endoftext|>, as every training document starts; --prompt '' samples from\n"
    "nothing. Decoding reads a KV cache: a variant with a bounded reach (kv_reach() = w, e.g.\n"
    "fixed_window with adaptive_threshold 0) keeps a rolling cache of w + 1 positions per\n"
    "layer, others keep every position; a plugin without decoding is refused.\n\n"
    "Sampling: softmax(logits / T), then the top-k, then the top-p nucleus; T = 0 is greedy.\n"
    "The same --seed gives the same text. --verify recomputes every step without the cache (a\n"
    "full forward over the sequence so far) and exits 1 naming the step and both tokens if\n"
    "they differ (costs a forward over the whole sequence per token).";

struct RunTarget {
  store::RunRecord run;
  std::string db;
  fs::path checkpoint;  // a checkpoints/ folder (its newest is loaded) or one .ckpt file
};

bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string infer_db(const fs::path& run_dir) {
  const auto stem_dir = fs::absolute(run_dir).lexically_normal().parent_path().parent_path();
  const auto db = stem_dir.parent_path().parent_path() / (stem_dir.filename().string() + ".db");
  if (stem_dir.parent_path().filename() != "runs" || !fs::exists(db)) {
    throw UsageError("cannot tell which results store " + run_dir.string() +
                     " belongs to (expected it under <dir>/runs/<db>/<experiment>/<run> beside "
                     "<dir>/<db>.db); give it with --db PATH");
  }
  return db.string();
}

store::RunRecord find_run(const store::Store& store, const std::string& experiment,
                          const std::string& name) {
  std::vector<store::RunRecord> found;
  for (const auto& e : store.experiments()) {
    if (!experiment.empty() && e != experiment) continue;
    for (const auto& r : store.runs(e)) {
      if (r.name == name) found.push_back(r);
    }
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    throw UsageError("no run named '" + (experiment.empty() ? "" : experiment + "/") + name +
                     "' in " + store.path() +
                     " (`attnlab report --experiment NAME` lists an experiment's runs; a "
                     "checkpoint path works too)");
  }
  throw UsageError("run name '" + name + "' is in several experiments of " + store.path() +
                   "; say which, as EXPERIMENT/" + name);
}

// A path given on the command line: a .ckpt file, a checkpoints/ folder or a run folder.
RunTarget target_from_path(const fs::path& path, const std::optional<std::string>& db) {
  RunTarget t;
  fs::path run_dir;
  if (fs::is_regular_file(path)) {
    if (path.extension() != ".ckpt") {
      throw UsageError(path.string() + " is not a checkpoint (step_*.ckpt)");
    }
    t.checkpoint = path;
    run_dir = fs::absolute(path).parent_path().parent_path();
  } else if (fs::is_directory(path / "checkpoints")) {
    run_dir = path;
    t.checkpoint = path / "checkpoints";
  } else if (path.filename() == "checkpoints" || fs::absolute(path).filename() == "checkpoints") {
    run_dir = fs::absolute(path).parent_path();
    t.checkpoint = path;
  } else {
    throw UsageError(path.string() +
                     " is neither a run folder (with checkpoints/), its "
                     "checkpoints/ folder nor a step_*.ckpt file");
  }
  run_dir = fs::absolute(run_dir).lexically_normal();
  t.db = db ? *db : infer_db(run_dir);
  const auto store = store::open_store_to_read(t.db);
  t.run = find_run(*store, run_dir.parent_path().filename().string(), run_dir.filename().string());
  return t;
}

RunTarget resolve_target(const std::string& word, const std::optional<std::string>& db) {
  if (fs::exists(word)) return target_from_path(word, db);
  RunTarget t;
  t.db = db ? *db : default_db_path();
  if (!fs::exists(t.db)) {
    throw UsageError("'" + word + "' is not an existing path, and the results store " + t.db +
                     " to look it up as a run does not exist (give --db PATH)");
  }
  const auto store = store::open_store_to_read(t.db);
  const auto slash = word.find('/');
  if (all_digits(word)) {
    t.run = store->run(std::stoll(word));
  } else if (slash != std::string::npos && word.find('/', slash + 1) == std::string::npos) {
    t.run = find_run(*store, word.substr(0, slash), word.substr(slash + 1));
  } else if (slash == std::string::npos) {
    t.run = find_run(*store, "", word);
  } else {
    throw UsageError(word + " does not exist (a checkpoint path) and is not EXPERIMENT/RUN");
  }
  t.checkpoint =
      spec::run_directory(spec::runs_root(t.db), t.run.experiment, t.run.name) / "checkpoints";
  return t;
}

struct LoadedRun {
  model::Decoder model{nullptr};
  std::string plugin;
  int64_t trained_steps = 0;
};

// Loads the newest checkpoint of the folder that verifies, or the one file given.
std::optional<train::CheckpointMeta> load_checkpoint(const fs::path& checkpoint,
                                                     model::Decoder& model,
                                                     torch::optim::Optimizer& optimizer,
                                                     const std::string& fingerprint) {
  if (fs::is_directory(checkpoint)) {
    return train::CheckpointManager(checkpoint, 1).load_latest(*model, optimizer, fingerprint);
  }
  return train::load_checkpoint_file(checkpoint, *model, optimizer, fingerprint);
}

LoadedRun load_run(const RunTarget& target, const nlohmann::json& tree) {
  if (!fs::exists(target.checkpoint)) {
    throw std::runtime_error("run " + target.run.experiment + "/" + target.run.name + " (" +
                             target.run.status + ") has no checkpoint folder " +
                             target.checkpoint.string() + "; train it first (attnlab run)");
  }
  plugin::PluginRegistry plugins(default_plugin_dir());
  LoadedRun loaded{spec::build_model(tree, plugins),
                   tree.at("attention").at("variant").get<std::string>(), 0};
  auto optimizer = train::make_adamw(*loaded.model, train::TrainConfig::from_json(tree.at("train")),
                                     loaded.model->grouped_parameters());
  const auto identity = config::results_identity(tree).dump();
  const auto meta = load_checkpoint(target.checkpoint, loaded.model, *optimizer.adamw,
                                    util::sha256_hex(identity.data(), identity.size()));
  if (!meta) {
    throw std::runtime_error("no loadable checkpoint in " + target.checkpoint.string() +
                             " (warnings above say why; train the run first: attnlab run)");
  }
  loaded.trained_steps = meta->progress.next_step;
  loaded.model->eval();
  return loaded;
}

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
  const auto target = resolve_target(parsed.positional.front(), db);
  const auto tree = nlohmann::json::parse(target.run.config_json);
  auto loaded = load_run(target, tree);
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
