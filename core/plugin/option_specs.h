// Internal to the loader: a plugin's C option specs as config::KeySchema, and checking and
// completing an options object against them.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attnlab/config/schema.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::plugin {

// `where` prefixes every error, e.g. "plugin 'x' (/path/libattnlab_x.so)".
std::vector<config::KeySchema> option_schemas(const attnlab_plugin_descriptor& descriptor,
                                              const std::string& where);

nlohmann::json complete_options(const std::vector<config::KeySchema>& schemas,
                                const nlohmann::json& options, const std::string& where);

}  // namespace attnlab::plugin
