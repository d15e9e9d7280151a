// build_model: the decoder of a RunSpec with its attention plugin in every layer.
#include "attnlab/spec/build_model.h"

#include "attnlab/plugin/registry.h"

namespace attnlab::spec {

namespace {

model::Decoder decoder_with(const model::ModelConfig& model, const plugin::LoadedPlugin& variant,
                            const nlohmann::json& options) {
  return model::Decoder(model, [&](const attnlab_layer_dims& dims) {
    return variant.create(dims, options);
  });
}

}  // namespace

model::Decoder build_model(const RunSpec& spec, plugin::PluginRegistry& plugins) {
  return decoder_with(spec.model, plugins.load(spec.variant), spec.variant_options);
}

model::Decoder build_model(const nlohmann::json& config, plugin::PluginRegistry& plugins) {
  const auto& attention = config.at("attention");
  const auto& variant = plugins.load(attention.at("variant").get<std::string>());
  return decoder_with(model::ModelConfig::from_json(config.at("model")), variant,
                      variant.complete_options(attention.at("options")));
}

}  // namespace attnlab::spec
