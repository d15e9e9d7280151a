// build_schema_registry: collects every component's config schema (model, data, train, eval,
// the attention plugin's options) into one registry.
#include <limits>

#include "attnlab/data/schema.h"
#include "attnlab/eval/evaluate.h"
#include "attnlab/model/model_config.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/spec/product_schemas.h"
#include "attnlab/train/train_config.h"

namespace attnlab::spec {

namespace {

config::SectionSchema root_schema() {
  config::SectionSchema s;
  s.path = "";
  s.owner = "experiment";
  s.keys = {{"seed", config::ValueType::Int, 0, 0, 4294967295.0, {},
             "seed of initialisation and data order (sweep it: seed=0,1,2)"}};
  return s;
}

config::SectionSchema experiment_schema() {
  const double inf = std::numeric_limits<double>::infinity();
  config::SectionSchema s;
  s.path = "experiment";
  s.owner = "experiment";
  s.keys = {{"name", config::ValueType::String, "", -inf, inf, {},
             "experiment name in the results store; default: the file's stem"},
            {"description", config::ValueType::String, "", -inf, inf, {},
             "one line shown in reports"}};
  return s;
}

config::SectionSchema report_schema() {
  config::SectionSchema s;
  s.path = "report";
  s.owner = "report";
  s.open = true;  // baseline, ablation_rows, ... are read by `attnlab report`
  return s;
}

config::SectionSchema attention_schema(const plugin::PluginRegistry& plugins) {
  const double inf = std::numeric_limits<double>::infinity();
  config::SectionSchema s;
  s.path = "attention";
  s.owner = "attention";
  s.keys = {{"variant", config::ValueType::String, nullptr, -inf, inf, plugins.available(),
             "the attention plugin (attnlab plugins list)"}};
  return s;
}

}  // namespace

config::SchemaRegistry build_schema_registry(std::shared_ptr<plugin::PluginRegistry> plugins) {
  config::SchemaRegistry registry;
  registry.add(root_schema());
  registry.add(experiment_schema());
  registry.add(report_schema());
  registry.add(model::model_schema());
  registry.add(config::data_schema());
  registry.add(train::train_schema());
  registry.add(eval::eval_schema());  // measured after training; not in a run's identity
  registry.add(attention_schema(*plugins));
  registry.add_dynamic("attention.options", [plugins](const config::ResolvedConfig& cfg) {
    const auto name = cfg.at("attention.variant").get<std::string>();
    try {
      return plugin::options_schema(plugins->load(name));
    } catch (const std::exception& e) {
      throw config::ConfigError("attention.variant", cfg.origin_of("attention.variant"), e.what());
    }
  });
  return registry;
}

config::SchemaRegistry build_schema_registry(const std::filesystem::path& plugin_dir) {
  return build_schema_registry(std::make_shared<plugin::PluginRegistry>(plugin_dir));
}

}  // namespace attnlab::spec
