// Plugin options follow one set of rules: a value composed into a config under
// attention.options and the same value given to LoadedPlugin::create are checked by the same
// validator (config::validate_section), so each is accepted or rejected identically and, when
// rejected, with the same message naming the option. The expected outcome of every value is
// written in the table below, independently of either path.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <limits>

#include "../config/config_test_util.h"
#include "attnlab/attention_variant.h"
#include "attnlab/config/schema.h"
#include "attnlab/plugin/registry.h"

using namespace attnlab::plugin;
using namespace attnlab::config;
using Catch::Contains;
using nlohmann::json;

namespace {

const attnlab_layer_dims kDims{16, 4, 2, 8, 2, 0};
constexpr double kInf = std::numeric_limits<double>::infinity();

// What checking one options map gave: the completed options, or the error message.
struct Outcome {
  bool accepted = false;
  json options;
  std::string error;
};

// A schema registry wired like the product's: attention.variant picks the plugin whose
// options_schema is the section attention.options.
SchemaRegistry attention_schemas(PluginRegistry& plugins) {
  SchemaRegistry schemas;
  schemas.add({"attention",
               "attention",
               {{"variant", ValueType::String, "dense", -kInf, kInf, {}, "plugin"}},
               false});
  schemas.add_dynamic("attention.options", [&plugins](const ResolvedConfig& config) {
    return options_schema(plugins.load(config.tree["attention"]["variant"].get<std::string>()));
  });
  return schemas;
}

// Through config composition: an experiment file setting attention.options.<key>: <yaml>.
Outcome through_config(PluginRegistry& plugins, const std::string& plugin, const std::string& key,
                       const std::string& yaml) {
  const test::TempDir dir;
  dir.write("exp.yaml",
            "attention:\n  variant: " + plugin + "\n  options:\n    " + key + ": " + yaml + "\n");
  ResolvedConfig config = test::compose(dir, "exp.yaml").at(0);
  try {
    attention_schemas(plugins).validate(config);
  } catch (const ConfigError& e) {
    return {false, {}, e.key() + ": " + e.message()};
  }
  return {true, config.tree["attention"]["options"], ""};
}

// Through the loader: create(dims, options) on the plugin, then the options it completed.
Outcome through_loader(const LoadedPlugin& plugin, const json& options) {
  try {
    const auto variant = plugin.create(kDims, options);
    REQUIRE(variant != nullptr);
  } catch (const PluginError& e) {
    return {false, {}, e.what()};
  }
  return {true, plugin.complete_options(options), ""};
}

struct Case {
  std::string plugin, key, yaml;  // the value as written in a config file
  json value;                     // the same value as JSON given to create()
  json expected;                  // the completed value when accepted (type included)
  std::string rejection;          // when rejected: what the message must say
};

const std::vector<Case> kCases = {
    {"no_gating", "window", "64", 64, 64, ""},
    {"no_gating", "window", "2.0", 2.0, 2, ""},  // a whole float is an int
    {"no_gating", "window", "2.5", 2.5, nullptr, "expected int, got 2.5"},
    {"no_gating", "window", "-1", -1, nullptr,
     "value -1 is out of range: must be in [0, 1073741824]"},
    {"no_gating", "window", "1073741825", 1073741825, nullptr, "is out of range"},
    {"no_gating", "window", "true", true, nullptr, "expected int, got true"},
    {"no_gating", "window", "'64'", "64", nullptr, "expected int"},
    {"gated_window", "gate_bias_init", "1", 1, 1.0, ""},  // an int is a float
    {"gated_window", "gate_bias_init", "20.5", 20.5, nullptr, "must be in [-20, 20]"},
    {"no_gating", "windw", "3", 3, nullptr,
     "unknown key; did you mean 'attention.options.window'?"},
    {"dense", "window", "4", 4, nullptr, "unknown key (attention.options accepts no keys)"},
};

}  // namespace

TEST_CASE("config composition and create() accept and reject the same option values", "[options]") {
  PluginRegistry plugins(ATTNLAB_BINARY_DIR "/plugins");
  for (const auto& c : kCases) {
    INFO(c.plugin << ": " << c.key << " = " << c.yaml);
    const Outcome by_config = through_config(plugins, c.plugin, c.key, c.yaml);
    const Outcome by_loader = through_loader(plugins.load(c.plugin), {{c.key, c.value}});
    INFO("config: " << by_config.error << "\nloader: " << by_loader.error);
    const bool accept = c.rejection.empty();
    CHECK(by_config.accepted == accept);
    CHECK(by_loader.accepted == accept);
    if (accept) {
      CHECK(by_loader.options == by_config.options);
      CHECK(by_loader.options.at(c.key) == c.expected);
      CHECK(by_loader.options.at(c.key).type() == c.expected.type());
      CHECK(by_config.options.at(c.key).type() == c.expected.type());
    } else {
      CHECK_THAT(by_config.error,
                 Contains("attention.options." + c.key + ": ") && Contains(c.rejection));
      CHECK_THAT(by_loader.error,
                 Contains("plugin '" + c.plugin + "'") && Contains(by_config.error));
    }
  }
}

TEST_CASE("create() fills the defaults and applies a whole-float int", "[options]") {
  PluginRegistry plugins(ATTNLAB_BINARY_DIR "/plugins");
  const LoadedPlugin& plugin = plugins.load("no_gating");
  CHECK(plugin.complete_options(json::object()) ==
        json({{"window", 256}, {"adaptive_threshold", 512}}));
  CHECK(plugin.complete_options(nullptr) == plugin.complete_options(json::object()));
  CHECK_THROWS_WITH(plugin.complete_options(json::array()),
                    Contains("plugin 'no_gating'") &&
                        Contains("attention.options: must be a map, got [] (array)"));
  // T > adaptive_threshold, so the window decides the work: 2.0 acts as 2, not as the default.
  const int64_t T = 1000;
  const double two_float = plugin.create(kDims, {{"window", 2.0}})->flops(T).forward;
  CHECK(two_float == plugin.create(kDims, {{"window", 2}})->flops(T).forward);
  CHECK(two_float < plugin.create(kDims, json::object())->flops(T).forward);
}
