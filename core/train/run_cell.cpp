// run_cell: from a resolved config to a trained model and its metrics.
#include "attnlab/train/run_cell.h"

#include <torch/torch.h>

#include <iostream>
#include <optional>
#include <thread>

#include "attnlab/code_version.h"
#include "attnlab/train/distributed.h"
#include "attnlab/data/loader.h"
#include "attnlab/util/sha256.h"
#include "attnlab/model/decoder.h"
#include "attnlab/train/fresh_process.h"
#include "attnlab/train/peak_flops.h"

namespace attnlab::train {

int resolve_threads(int64_t configured) {
  if (configured > 0) return static_cast<int>(configured);
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

data::LoaderOptions loader_options(const config::ResolvedConfig& cell, const TrainConfig& t,
                                   const model::ModelConfig& m) {
  const auto& d = cell.tree.at("data");
  data::LoaderOptions o;
  o.train_files = d.at("train_files").get<std::vector<std::string>>();
  o.val_files = d.at("val_files").get<std::vector<std::string>>();
  o.val_tokens = d.at("val_tokens").get<uint64_t>();
  o.vocab_size = static_cast<uint32_t>(d.at("vocab_size").get<int64_t>());
  if (o.vocab_size > m.vocab_size) {
    throw config::ConfigError("model.vocab_size", cell.origin_of("model.vocab_size"),
                              "the model's " + std::to_string(m.vocab_size) +
                                  " embedding rows are fewer than the data's vocabulary of " +
                                  std::to_string(o.vocab_size) + " tokens (data.vocab_size)");
  }
  o.seed = cell.tree.at("seed").get<uint64_t>();
  o.batch_size = static_cast<int>(t.batch_size);
  o.seq_len = static_cast<int>(t.seq_len);
  return o;
}

}  // namespace

nlohmann::json results_relevant_config(const nlohmann::json& tree) {
  nlohmann::json relevant = nlohmann::json::object();
  for (const char* key : {"model", "data", "attention", "train", "seed"}) {
    if (tree.contains(key)) relevant[key] = tree.at(key);
  }
  if (relevant.contains("train") && relevant["train"].is_object()) {
    for (const char* key : {"log_every", "checkpoint_every", "keep_checkpoints", "dist_timeout_s",
                            "peak_flops"}) {
      relevant["train"].erase(key);
    }
  }
  return relevant;
}

std::string config_fingerprint(const config::ResolvedConfig& cell) {
  const auto text = results_relevant_config(cell.tree).dump();
  return util::sha256_hex(text.data(), text.size());
}

TrainResult run_cell(const config::ResolvedConfig& cell, plugin::PluginRegistry& plugins,
                     MetricsSink& sink, const CellOptions& cell_options) {
  const auto& log_prefix = cell_options.log_prefix;
  reset_peak_rss();
  const auto model_config = model::ModelConfig::from_json(cell.tree.at("model"));
  const auto train_config = TrainConfig::from_json(cell.tree.at("train"));
  if (train_config.device != "cpu") {
    throw config::ConfigError("train.device", cell.origin_of("train.device"),
                              "device '" + train_config.device +
                                  "' is not available in this build; use train.device=cpu");
  }
  if (train_config.dtype != "fp32") {  // bf16 autocast belongs to the CUDA path (docs/GPU.md)
    throw config::ConfigError("train.dtype", cell.origin_of("train.dtype"),
                              "dtype '" + train_config.dtype +
                                  "' is not supported on CPU; use train.dtype=fp32");
  }
  const int threads = train_config.threads == 0 && cell_options.intra_op_threads > 0
                          ? cell_options.intra_op_threads
                          : resolve_threads(train_config.threads);
  torch::set_num_threads(threads);
  // Rank 0 logs MFU; the probe runs here, before the model is seeded (it draws its own inputs).
  double peak_flops = 0.0;
  if (!cell_options.dist || cell_options.dist->rank() == 0) {
    peak_flops = resolve_peak_flops(
        train_config.peak_flops, cell_options.peak_flops_cache, torch::Device(torch::kCPU),
        torch::kFloat32, threads, [] { return measure_peak_flops(torch::kCPU, torch::kFloat32); },
        std::cout, log_prefix);
  }
  const uint64_t seed = cell.tree.at("seed").get<uint64_t>();
  torch::manual_seed(seed);

  const auto& attention = cell.tree.at("attention");
  const auto& variant_plugin = plugins.load(attention.at("variant").get<std::string>());
  const nlohmann::json variant_options = attention.at("options");
  model::VariantFactory make_variant = [&](const attnlab_layer_dims& dims) {
    return variant_plugin.create(dims, variant_options);
  };
  model::Decoder model(model_config, make_variant);

  auto opts = loader_options(cell, train_config, model_config);
  if (cell_options.dist) {  // each rank reads its own disjoint share of every batch
    opts.rank = cell_options.dist->rank();
    opts.world_size = cell_options.dist->world_size();
  }
  data::TokenLoader train_data(opts);
  data::ValidationSet val_data(opts);

  int64_t n_params = 0;
  for (const auto& p : model->parameters()) n_params += p.numel();
  double attention_flops = 0.0;
  for (const auto& block : *model->blocks) {
    const auto f = block->as<model::BlockImpl>()->attn->variant->flops(train_config.seq_len);
    attention_flops += f.forward + f.backward;
  }
  const double flops_per_token =
      model_config.dense_flops_per_token() + attention_flops / train_config.seq_len;
  sink.info("n_params", n_params);
  sink.info("n_params_non_embedding", n_params - model_config.vocab_size * model_config.d_model);
  sink.info("flops_per_token", flops_per_token);
  sink.info("threads", threads);
  if (peak_flops > 0) sink.info("peak_flops", peak_flops);
  sink.info("world_size", cell_options.dist ? cell_options.dist->world_size() : 1);
  sink.info("device", train_config.device);
  sink.info("train_tokens_available", train_data.train_tokens());
  sink.info("plugin", {{"name", variant_plugin.name},
                       {"version", variant_plugin.version},
                       {"sha256", variant_plugin.sha256},
                       {"path", variant_plugin.path}});
  std::printf("%s%s: %.2fM parameters, %.3g FLOPs/token, %d threads\n", log_prefix.c_str(),
              model_config.name.c_str(), n_params / 1e6, flops_per_token, threads);

  std::optional<CheckpointManager> checkpoints;
  TrainerOptions trainer_options;
  if (!cell_options.run_dir.empty()) {
    checkpoints.emplace(cell_options.run_dir / "checkpoints",
                        static_cast<int>(train_config.keep_checkpoints));
    const bool writer = !cell_options.dist || cell_options.dist->rank() == 0;
    if (cell_options.restart && writer) checkpoints->clear();
    if (cell_options.dist) cell_options.dist->barrier();  // nobody loads what rank 0 clears
    trainer_options.checkpoints = &*checkpoints;
  }
  trainer_options.config_fingerprint = config_fingerprint(cell);
  trainer_options.code_version = code_version();
  trainer_options.stop_requested = cell_options.stop_requested;
  trainer_options.log_prefix = log_prefix;
  trainer_options.dist = cell_options.dist;
  trainer_options.flops_per_token = flops_per_token;
  trainer_options.peak_flops = peak_flops;
  Trainer trainer(model, train_config, train_data, val_data, sink, trainer_options);
  auto result = trainer.run();
  sink.info("wall_time_s", result.wall_s);
  // The process's RSS high-water mark since this cell started (reset below, before the model).
  sink.info("peak_memory_bytes", static_cast<int64_t>(peak_rss_mib() * 1024.0 * 1024.0));
  sink.info("tokens_per_s_mean", result.tokens_per_s_mean);
  if (peak_flops > 0 && result.tokens_per_s_mean > 0) {
    const int world = cell_options.dist ? cell_options.dist->world_size() : 1;
    sink.info("mfu_mean", model_flops_utilisation(flops_per_token, result.tokens_per_s_mean,
                                                  peak_flops * world));
  }
  sink.info("tokens_seen", train_data.tokens_seen());
  sink.info("epochs", train_data.epoch());
  return result;
}

}  // namespace attnlab::train
