// attnlab/plugin/compose.h (how `hybrid` opens its inner plugin) applies the loader's rules to
// a broken sibling: an exception from its entry function or create() is caught, n_options is
// bounded, an option declared twice is refused, descriptor strings and create()'s error buffer
// are read within bounds, a bad default is refused; each error names the sibling and its file.
#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "attnlab/plugin/compose.h"

using Catch::Contains;

namespace {

const std::string kBrokenDir = ATTNLAB_BROKEN_PLUGIN_DIR;
const attnlab_layer_dims kDims{16, 4, 2, 8, 2, 0};

// An address inside a library of the broken-plugin folder: the "calling plugin" whose
// siblings are the broken plugins.
const void* broken_caller() {
  static void* handle = dlopen((kBrokenDir + "/libattnlab_throwing.so").c_str(), RTLD_NOW);
  REQUIRE(handle);
  static void* entry = dlsym(handle, ATTNLAB_PLUGIN_ENTRY_SYMBOL);
  REQUIRE(entry);
  return entry;
}

// The message create_sibling_variant throws for broken sibling `name` (empty if it creates).
std::string compose_error(const std::string& name) {
  try {
    attnlab::plugin::create_sibling_variant(broken_caller(), name, kDims, "{}",
                                            "attention.options.inner_options");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// "plugin '<name>' (<dir>/libattnlab_<name>.so)", <dir> the caller's folder as the dynamic
// linker names it: how every compose error starts.
std::string where(const std::string& name) {
  Dl_info info{};
  REQUIRE(dladdr(broken_caller(), &info));
  const std::string dir = std::filesystem::path(info.dli_fname).parent_path().string();
  return "plugin '" + name + "' (" + dir + "/libattnlab_" + name + ".so): ";
}

}  // namespace

TEST_CASE("a sibling's escaping exceptions name it and its file", "[compose]") {
  CHECK_THAT(compose_error("entry_throws"),
             Contains(where("entry_throws") + ATTNLAB_PLUGIN_ENTRY_SYMBOL
                      "() threw 'the entry function gave up'"));
  CHECK_THAT(compose_error("create_throws"),
             Contains(where("create_throws") +
                      "create() threw an exception not derived from std::exception") &&
                 Contains("no exception may cross the plugin ABI"));
  CHECK_THAT(compose_error("throwing"),
             Contains(where("throwing") + "create failed: this layer refuses to exist"));
}

TEST_CASE("a sibling's option specs are bounded, unique and valid", "[compose]") {
  CHECK_THAT(
      compose_error("duplicate_option"),
      Contains(where("duplicate_option") + "option 'window' is declared twice (option #0 and #2)"));
  CHECK_THAT(compose_error("too_many_options"),
             Contains(where("too_many_options") +
                      "the descriptor declares n_options = 257, more than the 256"));
  CHECK_THAT(compose_error("bad_default"),
             Contains(where("bad_default") +
                      "option 'window' has an invalid default: must be in [0.0, 100.0], got -4"));
}

TEST_CASE("what a sibling hands over is read within bounds", "[compose]") {
  CHECK_THAT(
      compose_error("long_text"),
      Contains(where("long_text") + "the descriptor's description is longer than 4096 bytes"));
  // create fills its whole error buffer with 'x' and no NUL: read exactly the buffer.
  const std::string unterminated = compose_error("unterminated");
  const std::string full(1024, 'x');
  CHECK_THAT(unterminated,
             Contains(where("unterminated") + "create failed: " + full + " [cut at 1024 bytes"));
  CHECK_THAT(unterminated, !Contains(full + "x"));
}
