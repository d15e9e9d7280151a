// build_run_specs: composition -> schema validation -> typed RunSpecs with names, model and
// plugin checks, parameter and FLOP counts.
#include "attnlab/spec/run_spec.h"

#include <algorithm>
#include <thread>

#include "attnlab/attention_variant.h"
#include "attnlab/config/identity.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/spec/product_schemas.h"
#include "attnlab/spec/run_names.h"
#include "attnlab/util/sha256.h"

namespace attnlab::spec {

namespace {

// Runs `parse` (a typed section parser); an error it raises without a file position gets the
// position of its key in `cell` (where that key, or its nearest parent, was set).
template <class Parse>
auto with_origin(const config::ResolvedConfig& cell, Parse parse) {
  try {
    return parse();
  } catch (const config::ConfigError& e) {
    if (e.origin().line > 0 || !e.origin().detail.empty()) throw;
    throw config::ConfigError(e.key(), cell.origin_of(e.key()), e.message());
  }
}

attnlab_layer_dims layer_dims(const model::ModelConfig& m, int64_t layer) {
  return {m.d_model, m.n_head, m.n_kv_head, m.head_dim, m.n_layer, layer};
}

// Creates the variant of every layer once (the plugin checks its options against the model's
// dimensions) and adds their parameters and FLOPs to the spec.
void count_with_variant(RunSpec& spec, plugin::PluginRegistry& plugins) {
  const auto& cell = spec.cell;
  const auto& loaded = plugins.load(spec.variant);
  double attention_flops = 0;
  int64_t variant_params = 0;
  for (int64_t layer = 0; layer < spec.model.n_layer; ++layer) {
    std::shared_ptr<AttentionVariant> variant;
    try {
      variant = loaded.create(layer_dims(spec.model, layer), spec.variant_options);
    } catch (const std::exception& e) {
      throw config::ConfigError("attention.options", cell.origin_of("attention.options"), e.what());
    }
    for (const auto& p : variant->parameters()) variant_params += p.numel();
    const auto f = variant->flops(spec.train.seq_len);
    attention_flops += f.forward + f.backward;
  }
  spec.parameter_count = spec.model.parameter_count() + variant_params;
  spec.flops_per_token =
      spec.model.dense_flops_per_token() + attention_flops / static_cast<double>(spec.train.seq_len);
}

data::LoaderOptions loader_options(const RunSpec& spec) {
  const auto& d = spec.cell.tree.at("data");
  data::LoaderOptions o;
  o.train_files = d.at("train_files").get<std::vector<std::string>>();
  o.val_files = d.at("val_files").get<std::vector<std::string>>();
  o.val_tokens = d.at("val_tokens").get<uint64_t>();
  o.vocab_size = static_cast<uint32_t>(d.at("vocab_size").get<int64_t>());
  const int64_t order_seed = d.at("order_seed").get<int64_t>();  // validated: -1 .. 2^32-1
  o.order_seed = order_seed < 0 ? spec.seed : static_cast<uint64_t>(order_seed);
  o.batch_size = static_cast<int>(spec.train.batch_size);
  o.seq_len = static_cast<int>(spec.train.seq_len);
  o.kind = d.at("kind").get<std::string>();
  if (o.kind == "mqar") o.mqar = data::mqar_options_from_config(d, o.seq_len);
  return o;
}

void check_vocabulary(const RunSpec& spec) {
  if (spec.data.vocab_size <= spec.model.vocab_size) return;
  throw config::ConfigError("model.vocab_size", spec.cell.origin_of("model.vocab_size"),
                            "the model's " + std::to_string(spec.model.vocab_size) +
                                " embedding rows are fewer than the data's vocabulary of " +
                                std::to_string(spec.data.vocab_size) +
                                " tokens (data.vocab_size); use a model with vocab_size >= " +
                                std::to_string(spec.data.vocab_size));
}

RunSpec make_spec(config::ResolvedConfig cell, std::string experiment, std::string name,
                  plugin::PluginRegistry& plugins, int world_size) {
  RunSpec spec;
  spec.cell = std::move(cell);
  const auto& c = spec.cell;
  spec.model = with_origin(c, [&] { return model::ModelConfig::from_json(c.tree.at("model")); });
  spec.train = with_origin(c, [&] { return train::TrainConfig::from_json(c.tree.at("train")); });
  spec.variant = c.at("attention.variant").get<std::string>();
  spec.variant_options = with_origin(c, [&] {
    try {
      return plugins.load(spec.variant).complete_options(c.at("attention.options"));
    } catch (const plugin::PluginError& e) {
      throw config::ConfigError("attention.options", c.origin_of("attention.options"), e.what());
    }
  });
  spec.seed = c.at("seed").get<uint64_t>();
  spec.data = loader_options(spec);
  check_vocabulary(spec);
  spec.experiment = std::move(experiment);
  spec.run_name = std::move(name);
  count_with_variant(spec, plugins);
  apply_flop_budget(spec, world_size);  // before the identity: it may set train.steps
  spec.identity = config::results_identity(spec.cell.tree);
  const auto text = spec.identity.dump();
  spec.fingerprint = util::sha256_hex(text.data(), text.size());
  return spec;
}

void check_experiment_name(const config::ResolvedConfig& cell) {
  try {
    check_name(cell.experiment, "experiment name");
  } catch (const std::invalid_argument& e) {
    const auto& section = cell.tree.value("experiment", nlohmann::json::object());
    const bool set = !section.value("name", std::string()).empty();
    const auto origin = set ? cell.origin_of("experiment.name")
                            : config::Origin{cell.source_file.string(), 0, 0, ""};
    throw config::ConfigError("experiment.name", origin,
                              std::string(e.what()) + (set ? "" : " (it defaults to the file's "
                                                                  "stem; set experiment.name=NAME)"));
  }
}

}  // namespace

double RunSpec::total_flops(int world_size) const {
  return flops_per_token * static_cast<double>(train.tokens_per_step(world_size)) *
         static_cast<double>(train.steps);
}

int resolve_threads(int64_t configured) {
  if (configured > 0) return static_cast<int>(configured);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::vector<RunSpec> build_run_specs(const SpecRequest& request,
                                     std::shared_ptr<plugin::PluginRegistry> plugins) {
  const auto schemas = build_schema_registry(plugins);
  config::ComposeOptions compose;
  compose.search_path = request.config_dirs;
  compose.schema = &schemas;
  const auto file = config::resolve_experiment_path(request.experiment, compose);
  auto cells = config::compose_experiment(file, request.overrides, compose);
  for (auto& cell : cells) schemas.validate(cell);
  check_experiment_name(cells.front());
  std::vector<std::string> names;
  try {
    names = derive_run_names(
        cells, request.name_by_overrides ? request.overrides : std::vector<std::string>{});
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError("", config::Origin{file.string(), 0, 0, ""}, e.what());
  }
  std::vector<RunSpec> specs;
  for (size_t i = 0; i < cells.size(); ++i) {
    const auto experiment = cells[i].experiment;
    specs.push_back(make_spec(std::move(cells[i]), experiment, names[i], *plugins,
                              std::max(1, request.world_size)));
  }
  return specs;
}

}  // namespace attnlab::spec
