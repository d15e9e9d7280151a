// The plugin loader: discovery, loading once, recorded facts (version, path, sha256, option
// schemas), and one distinct error per broken plugin, in the checks' order. Option checking
// is in test_options.cpp.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "attnlab/attention_variant.h"
#include "attnlab/plugin/registry.h"

using namespace attnlab::plugin;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

const fs::path kPluginDir = ATTNLAB_BINARY_DIR "/plugins";
const fs::path kBrokenDir = ATTNLAB_BROKEN_PLUGIN_DIR;

std::string sha256sum(const fs::path& path) {
  std::string out(64, '\0');
  FILE* pipe = popen(("sha256sum " + path.string()).c_str(), "r");
  if (!pipe || fread(out.data(), 1, 64, pipe) != 64) out.clear();
  if (pipe) pclose(pipe);
  return out;
}

// The message load_path throws for a broken plugin (empty if it loads).
std::string load_error(PluginRegistry& registry, const fs::path& path) {
  try {
    registry.load_path(path);
  } catch (const PluginError& e) {
    return e.what();
  }
  return "";
}

const attnlab_layer_dims kDims{16, 4, 2, 8, 2, 0};

}  // namespace

TEST_CASE("the registry finds and loads the seed plugins", "[loader]") {
  PluginRegistry registry(kPluginDir);
  const auto names = registry.available();
  for (const char* seed : {"dense", "fixed_window", "gated_dense", "gated_window", "no_gating"}) {
    CHECK(std::find(names.begin(), names.end(), seed) != names.end());
  }
  CHECK(std::is_sorted(names.begin(), names.end()));

  const LoadedPlugin& plugin = registry.load("gated_window");
  CHECK(&plugin == &registry.load("gated_window"));  // loaded once
  CHECK(&plugin == &registry.load_path(kPluginDir / "libattnlab_gated_window.so"));
  CHECK(plugin.name == "gated_window");
  CHECK(plugin.version == "1.0.0");
  CHECK(plugin.path == fs::canonical(kPluginDir / "libattnlab_gated_window.so"));
  CHECK(plugin.sha256 == sha256sum(plugin.path));
  CHECK(plugin.descriptor != nullptr);
  CHECK_FALSE(plugin.description.empty());

  const auto schema = options_schema(plugin);
  CHECK(schema.path == "attention.options");
  CHECK(schema.owner == "plugin gated_window");
  REQUIRE(schema.keys.size() == 4);
  CHECK(schema.keys[0].key == "window");
  CHECK(schema.keys[0].type == attnlab::config::ValueType::Int);
  CHECK(schema.keys[0].default_value == 256);
  CHECK(schema.keys[0].min == 0);
  CHECK(schema.keys[1].key == "adaptive_threshold");
  CHECK(schema.keys[1].default_value == 512);
  CHECK(schema.keys[3].key == "gate_bias_init");
  CHECK(schema.keys[3].type == attnlab::config::ValueType::Float);
  CHECK_FALSE(schema.keys[3].description.empty());
  CHECK(options_schema(registry.load("dense")).keys.empty());
}

TEST_CASE("create builds a variant; bad dims fail with the plugin's message", "[loader]") {
  PluginRegistry registry(kPluginDir);
  const auto variant = registry.load("gated_dense").create(kDims, {{"gate_bias_init", 1.5}});
  REQUIRE(variant);
  const auto params = variant->named_parameters();
  REQUIRE(params.contains("gate_bias"));
  CHECK(params["gate_bias"].eq(1.5).all().item<bool>());
  const attnlab_layer_dims bad{16, 3, 2, 8, 2, 0};
  CHECK_THROWS_WITH(registry.load("dense").create(bad, {}),
                    Contains("plugin 'dense'") && Contains("create failed") &&
                        Contains("n_head (3) must be a positive multiple of n_kv_head (2)"));
}

TEST_CASE("every broken plugin fails with its own message", "[loader]") {
  PluginRegistry registry(kBrokenDir);
  const auto missing = load_error(registry, kBrokenDir / "libattnlab_absent.so");
  CHECK_THAT(missing, Contains("plugin 'absent'") && Contains("does not exist"));

  const fs::path not_a_library = fs::temp_directory_path() / "attnlab_test_libattnlab_text.so";
  std::ofstream(not_a_library) << "this is text, not an ELF file\n";
  const auto text = load_error(registry, not_a_library);
  CHECK_THAT(text, Contains("dlopen failed") && Contains(not_a_library.string()));
  fs::remove(not_a_library);

  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_no_symbol.so"),
             Contains("plugin 'no_symbol'") && Contains("no entry symbol 'attnlab_plugin_entry'"));
  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_abi.so"),
             Contains("built for plugin ABI version 43, this attnlab expects 2"));
  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_abi_v1.so"),
             Contains("built for plugin ABI version 1, this attnlab expects 2") &&
                 Contains("ABI 1 predates interface v2"));
  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_size.so"),
             Contains("descriptor struct_size is") && Contains("this attnlab's is"));
  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_torch.so"),
             Contains("built against LibTorch 0.4.1") &&
                 Contains("this attnlab runs LibTorch " TORCH_VERSION));
  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_misnamed.so"),
             Contains("the descriptor's name is 'someone_else' but the file says 'misnamed'") &&
                 Contains("rename the file to libattnlab_someone_else.so"));
  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_bad_default.so"),
             Contains("plugin 'bad_default'") &&
                 Contains("the default of attention.options.window is invalid: value -4 is out of "
                          "range: must be in [0, 100]"));

  const LoadedPlugin& throwing = registry.load("throwing");
  CHECK_THROWS_WITH(
      throwing.create(kDims, {}),
      Contains("plugin 'throwing'") && Contains("create failed: this layer refuses to exist"));
}

TEST_CASE("unknown names and directories list what to do", "[loader]") {
  PluginRegistry registry(kPluginDir);
  CHECK_THROWS_WITH(registry.load("sparse_topk"),
                    Contains("unknown attention plugin 'sparse_topk'") &&
                        Contains("available: dense, dma, fixed_window"));
  PluginRegistry nowhere("/nonexistent/attnlab/plugins");
  CHECK_THROWS_WITH(nowhere.available(),
                    Contains("plugin directory /nonexistent/attnlab/plugins does not exist"));
  CHECK_THROWS_WITH(nowhere.load("dense"), Contains("does not exist"));
}
