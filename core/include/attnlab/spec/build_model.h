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

}  // namespace attnlab::spec
