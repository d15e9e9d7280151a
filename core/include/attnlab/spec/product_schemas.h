// The schema registry of the whole product: the root keys (experiment, seed, report) and the
// sections owned by the model, the data pipeline, the trainer and the attention plugin chosen
// by `attention.variant`.
#pragma once
#include <filesystem>
#include <memory>

#include "attnlab/config/schema.h"

namespace attnlab::plugin {
class PluginRegistry;
}

namespace attnlab::spec {

config::SchemaRegistry build_schema_registry(std::shared_ptr<plugin::PluginRegistry> plugins);
config::SchemaRegistry build_schema_registry(const std::filesystem::path& plugin_dir);

}  // namespace attnlab::spec
