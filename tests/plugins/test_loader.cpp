// The plugin loader: discovery, loading once, recorded facts (version, path, sha256, option
// schemas), one distinct error per broken plugin, in the checks' order, naming the plugin and
// its file; bounded reads of what a plugin hands over; names versus paths; and `attnlab
// plugins list|show` run as a child process. Option checking is in test_options.cpp.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../train/cli_process.h"
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

// The message create() throws for a plugin that loads (empty if it creates).
std::string create_error(PluginRegistry& registry, const std::string& name) {
  try {
    registry.load(name).create(kDims, {});
  } catch (const PluginError& e) {
    return e.what();
  }
  return "";
}

fs::path broken(const std::string& name) {
  return fs::canonical(kBrokenDir / ("libattnlab_" + name + ".so"));
}

// "plugin '<name>' (<canonical path>)": how every loader error starts.
std::string where(const std::string& name) {
  return "plugin '" + name + "' (" + broken(name).string() + ")";
}

attnlab::test::CliOutcome plugins_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "plugins");
  return attnlab::test::run_cli({args, {}, {}, 0, 60});
}

size_t count(const std::string& text, const std::string& word) {
  size_t n = 0;
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

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
             Contains("built for plugin ABI version " +
                      std::to_string(ATTNLAB_PLUGIN_ABI_VERSION + 41) + ", this attnlab expects " +
                      std::to_string(ATTNLAB_PLUGIN_ABI_VERSION)));
  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_abi_v1.so"),
             Contains("built for plugin ABI version 1, this attnlab expects 3") &&
                 Contains("ABI 1 predates interface v2"));
  CHECK_THAT(load_error(registry, kBrokenDir / "libattnlab_abi_v2.so"),
             Contains("built for plugin ABI version 2, this attnlab expects 3") &&
                 Contains("ABI 2 predates interface v3"));
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
}

TEST_CASE("a failing entry function or create names the plugin and its file", "[loader]") {
  PluginRegistry registry(kBrokenDir);
  // An error returned by create (the SDK's create_variant caught the variant's throw).
  CHECK_THAT(create_error(registry, "throwing"),
             Contains(where("throwing") + ": create failed: this layer refuses to exist"));
  // Exceptions escaping the plugin, which the ABI forbids: a std::exception and anything else.
  CHECK_THAT(load_error(registry, broken("entry_throws")),
             Contains(where("entry_throws") +
                      ": attnlab_plugin_entry() threw 'the entry function gave up'"));
  CHECK_THAT(create_error(registry, "create_throws"),
             Contains(where("create_throws") +
                      ": create() threw an exception not derived from std::exception") &&
                 Contains("no exception may cross the plugin ABI"));
}

TEST_CASE("an option declared twice is refused at load", "[loader]") {
  PluginRegistry registry(kBrokenDir);
  CHECK_THAT(load_error(registry, broken("duplicate_option")),
             Contains(where("duplicate_option") +
                      ": option 'window' is declared twice (option #0 and #2)"));
}

TEST_CASE("what a plugin hands over is read within bounds", "[loader]") {
  PluginRegistry registry(kBrokenDir);
  CHECK_THAT(load_error(registry, broken("too_many_options")),
             Contains(where("too_many_options") + ": the descriptor declares n_options = 257") &&
                 Contains("more than the " + std::to_string(kMaxPluginOptions)));
  CHECK_THAT(load_error(registry, broken("long_text")),
             Contains(where("long_text") + ": the descriptor's description is longer than " +
                      std::to_string(kMaxDescriptorText) + " bytes"));
  // create fills its whole error buffer with 'x' and no NUL: read exactly the buffer.
  const std::string unterminated = create_error(registry, "unterminated");
  const std::string full(kCreateErrorSize, 'x');
  CHECK_THAT(unterminated, Contains(where("unterminated") + ": create failed: " + full +
                                    " [cut at " + std::to_string(kCreateErrorSize) + " bytes"));
  CHECK_THAT(unterminated, !Contains(full + "x"));
}

TEST_CASE("load_all lists every plugin, a broken one with its error", "[loader]") {
  PluginRegistry registry(kBrokenDir);
  const auto statuses = registry.load_all();
  const auto names = registry.available();
  REQUIRE(statuses.size() == names.size());
  std::vector<std::string> loaded;
  for (size_t i = 0; i < statuses.size(); ++i) {
    INFO(names[i] << ": " << statuses[i].error);
    CHECK(statuses[i].name == names[i]);
    CHECK((statuses[i].plugin == nullptr) == !statuses[i].error.empty());
    if (statuses[i].plugin) loaded.push_back(statuses[i].name);
    if (!statuses[i].plugin) CHECK_THAT(statuses[i].error, Contains(where(names[i])));
  }
  // Only create fails for these three; every other broken plugin fails its own check.
  CHECK(loaded == std::vector<std::string>{"create_throws", "throwing", "unterminated"});
}

TEST_CASE("a path is used as given, a name is looked up in the plugin directory", "[loader]") {
  PluginRegistry registry(kPluginDir);
  const LoadedPlugin& dense = registry.load("dense");
  const auto dotted = fs::relative(kPluginDir) / ".." / "plugins" / "libattnlab_dense.so";
  CHECK(&registry.load_name_or_path("dense") == &dense);
  CHECK(&registry.load_name_or_path("./" + dotted.string()) == &dense);
  CHECK(&registry.load_name_or_path(fs::absolute(dotted).string()) == &dense);
  // A path in another directory is not redirected to the plugin directory.
  CHECK(&registry.load_name_or_path(broken("throwing").string()) ==
        &registry.load_path(broken("throwing")));
  // A file name is a path too: relative to the working directory, where there is none.
  CHECK_THROWS_WITH(registry.load_name_or_path("libattnlab_dense.so"),
                    Contains("libattnlab_dense.so does not exist"));
}

TEST_CASE("unknown names and directories list what to do", "[loader]") {
  PluginRegistry registry(kPluginDir);
  CHECK_THROWS_WITH(registry.load("sparse_topk"),
                    Contains("unknown attention plugin 'sparse_topk'") &&
                        Contains("available: ") && Contains("dense, dma, fixed_window"));
  PluginRegistry nowhere("/nonexistent/attnlab/plugins");
  const auto missing = Contains(
      "plugin directory /nonexistent/attnlab/plugins is not a directory (it does not exist)");
  CHECK_THROWS_WITH(nowhere.available(), missing);
  CHECK_THROWS_WITH(nowhere.load("dense"), missing);
  CHECK_THROWS_WITH(nowhere.load_all(), missing);
  const std::string file = (kPluginDir / "libattnlab_dense.so").string();
  PluginRegistry a_file(file);
  const auto is_file = Contains("plugin directory " + file + " is not a directory (it is a file)");
  CHECK_THROWS_WITH(a_file.available(), is_file);
  CHECK_THROWS_WITH(a_file.load("dense"), is_file);
}

TEST_CASE("attnlab plugins list marks broken plugins and goes on; show takes a path", "[loader]") {
  const auto list = plugins_cli({"list", "--plugin-dir", kBrokenDir.string()});
  const auto names = PluginRegistry(kBrokenDir).available();
  CHECK(list.exit_code == 1);
  CHECK_THAT(list.out, Contains(std::to_string(names.size()) + " plugin(s) in "));
  for (const auto& name : names)
    CHECK_THAT(list.out,
               Contains("\n" + name + ": BROKEN: ") || Contains("\n" + name + " 0.0.1: "));
  CHECK(count(list.out, ": BROKEN: ") == names.size() - 3);  // all but the three that load
  CHECK_THAT(list.out, Contains("\nthrowing 0.0.1: create always throws"));
  CHECK_THAT(list.err, Contains(std::to_string(names.size() - 3) + " of " +
                                std::to_string(names.size()) + " plugin(s) cannot be loaded"));

  // Run from the source directory: a relative path with dots, used as given.
  const auto dotted = "./" + fs::relative(kPluginDir, ATTNLAB_SOURCE_DIR).string() +
                      "/../plugins/libattnlab_dense.so";
  const auto show = plugins_cli({"show", dotted});
  CHECK(show.exit_code == 0);
  CHECK_THAT(show.out,
             Contains("path    " + fs::canonical(kPluginDir / "libattnlab_dense.so").string()));
  const auto show_broken = plugins_cli({"show", broken("duplicate_option").string()});
  CHECK(show_broken.exit_code == 1);
  CHECK_THAT(show_broken.err,
             Contains(where("duplicate_option") + ": option 'window' is declared twice"));

  const auto not_dir = plugins_cli({"list", "--plugin-dir", broken("throwing").string()});
  CHECK(not_dir.exit_code == 1);
  CHECK_THAT(not_dir.err,
             Contains(broken("throwing").string() + " is not a directory (it is a file)"));
}
