// The model a RunSpec describes: the Qwen3-style decoder with the spec's attention plugin in
// every layer. One function for runs, benchmarks and checks.
#pragma once
#include "attnlab/model/decoder.h"
#include "attnlab/spec/run_spec.h"

namespace attnlab::plugin {
class PluginRegistry;
}

namespace attnlab::spec {

model::Decoder build_model(const RunSpec& spec, plugin::PluginRegistry& plugins);

// The decoder of a stored run's resolved config (its `model` and `attention` sections, the
// plugin's option defaults filled in), e.g. to load a checkpoint for generation.
model::Decoder build_model(const nlohmann::json& config, plugin::PluginRegistry& plugins);

}  // namespace attnlab::spec
