// Internal to the loader: a plugin's C option specs as the config section
// "attention.options". Option values are validated by config::validate_section alone, so a
// plugin's options follow the same rules through the loader as through config composition.
#pragma once
#include <string>
#include <vector>

#include "attnlab/config/schema.h"
#include "attnlab/plugin_abi.h"

namespace attnlab::plugin {

// The section "attention.options", owned by "plugin <plugin_name>", holding `keys`.
config::SectionSchema options_section(const std::string& plugin_name,
                                      std::vector<config::KeySchema> keys);

// The descriptor's option specs as key schemas, in declaration order, each default checked by
// config::validate_section and stored as it converts (an int default "2.0" becomes 2). Refuses
// more than kMaxPluginOptions specs (before reading any) and a name declared twice.
// Throws PluginError prefixed by `where`, e.g. "plugin 'x' (/path/libattnlab_x.so)".
std::vector<config::KeySchema> option_schemas(const attnlab_plugin_descriptor& descriptor,
                                              const std::string& where);

}  // namespace attnlab::plugin
