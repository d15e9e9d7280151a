// build_model: the decoder of a RunSpec with its attention plugin in every layer.
#include "attnlab/spec/build_model.h"

#include "attnlab/plugin/registry.h"

namespace attnlab::spec {

model::Decoder build_model(const RunSpec& spec, plugin::PluginRegistry& plugins) {
  const auto& variant_plugin = plugins.load(spec.variant);
  const nlohmann::json options = spec.variant_options;
  return model::Decoder(spec.model, [&](const attnlab_layer_dims& dims) {
    return variant_plugin.create(dims, options);
  });
}

}  // namespace attnlab::spec
