// Deliberately broken plugins for the loader tests: one source, BROKEN_KIND picks the defect.
// Each is built as libattnlab_<kind>.so in the test's broken_plugins/ folder (never in
// build/plugins, so `attnlab plugins list` and the conformance suite do not see them).
#include <torch/version.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "attnlab/plugin_abi.h"

#define KIND_NO_SYMBOL 1
#define KIND_ABI 2
#define KIND_SIZE 3
#define KIND_TORCH 4
#define KIND_MISNAMED 5
#define KIND_BAD_DEFAULT 6
#define KIND_ABI_V1 7
#define KIND_DUPLICATE_OPTION 8
#define KIND_TOO_MANY_OPTIONS 9
#define KIND_LONG_TEXT 10
#define KIND_ENTRY_THROWS 11
#define KIND_CREATE_THROWS 12
#define KIND_UNTERMINATED 13
#define KIND_ABI_V2 14

namespace {

void* create(const attnlab_layer_dims*, const char*, char* error, size_t error_len) {
  if (BROKEN_KIND == KIND_CREATE_THROWS) throw 42;  // not even a std::exception
  if (BROKEN_KIND == KIND_UNTERMINATED) {
    std::memset(error, 'x', error_len);  // fills the buffer, leaving no room for the NUL
    return nullptr;
  }
  std::snprintf(error, error_len, "broken test plugin: not creatable");
  return nullptr;
}
void destroy(void*) {}

const attnlab_option_spec kOptions[] = {
    {"window", "int", BROKEN_KIND == KIND_BAD_DEFAULT ? "-4" : "4", 0, 100, nullptr, "a window"},
    {"sinks", "int", "1", 0, 100, nullptr, "sink tokens"},
    {"window", "int", "8", 0, 100, nullptr, "the window again"}};

// 257 well-formed options o0..o256: one more than the loader accepts (kMaxPluginOptions).
const std::vector<attnlab_option_spec>& many_options() {
  static std::vector<std::string> names;
  static const std::vector<attnlab_option_spec> specs = [] {
    for (int i = 0; i < 257; ++i) names.push_back("o" + std::to_string(i));
    std::vector<attnlab_option_spec> out;
    for (const auto& name : names) out.push_back({name.c_str(), "int", "1", 0, 9, nullptr, "x"});
    return out;
  }();
  return specs;
}

// A description one byte longer than the loader reads (kMaxDescriptorText = 4096).
const char* long_text() {
  static const std::string text(4097, 'd');
  return text.c_str();
}

attnlab_plugin_descriptor make_descriptor() {
  attnlab_plugin_descriptor d = {ATTNLAB_PLUGIN_ABI_VERSION,
                                 sizeof(attnlab_plugin_descriptor),
                                 BROKEN_NAME,
                                 "0.0.1",
                                 TORCH_VERSION,
                                 _GLIBCXX_USE_CXX11_ABI,
                                 "a deliberately broken plugin",
                                 kOptions,
                                 1,
                                 &create,
                                 &destroy};
  if (BROKEN_KIND == KIND_ABI) d.abi_version = ATTNLAB_PLUGIN_ABI_VERSION + 41;
  if (BROKEN_KIND == KIND_ABI_V1) d.abi_version = 1;  // a plugin built before interface v2
  if (BROKEN_KIND == KIND_ABI_V2) d.abi_version = 2;  // a plugin built before interface v3
  if (BROKEN_KIND == KIND_SIZE) d.struct_size = sizeof(attnlab_plugin_descriptor) - 8;
  if (BROKEN_KIND == KIND_TORCH) d.torch_version = "0.4.1";
  if (BROKEN_KIND == KIND_MISNAMED) d.name = "someone_else";
  if (BROKEN_KIND == KIND_DUPLICATE_OPTION) d.n_options = 3;  // "window" at #0 and #2
  if (BROKEN_KIND == KIND_TOO_MANY_OPTIONS) {
    d.options = many_options().data();
    d.n_options = static_cast<uint32_t>(many_options().size());
  }
  if (BROKEN_KIND == KIND_LONG_TEXT) d.description = long_text();
  return d;
}

}  // namespace

#if BROKEN_KIND == KIND_NO_SYMBOL
extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry_misspelt(void) {
#else
extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
#endif
  if (BROKEN_KIND == KIND_ENTRY_THROWS) throw std::runtime_error("the entry function gave up");
  static const attnlab_plugin_descriptor descriptor = make_descriptor();
  return &descriptor;
}
