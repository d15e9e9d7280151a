// Deliberately broken plugins for the loader tests: one source, BROKEN_KIND picks the defect.
// Each is built as libattnlab_<kind>.so in the test's broken_plugins/ folder (never in
// build/plugins, so `attnlab plugins list` and the conformance suite do not see them).
#include <torch/version.h>

#include <cstdio>

#include "attnlab/plugin_abi.h"

#define KIND_NO_SYMBOL 1
#define KIND_ABI 2
#define KIND_SIZE 3
#define KIND_TORCH 4
#define KIND_MISNAMED 5
#define KIND_BAD_DEFAULT 6
#define KIND_ABI_V1 7

namespace {

void* create(const attnlab_layer_dims*, const char*, char* error, size_t error_len) {
  std::snprintf(error, error_len, "broken test plugin: not creatable");
  return nullptr;
}
void destroy(void*) {}

const attnlab_option_spec kOptions[] = {
    {"window", "int", BROKEN_KIND == KIND_BAD_DEFAULT ? "-4" : "4", 0, 100, nullptr, "a window"}};

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
  if (BROKEN_KIND == KIND_SIZE) d.struct_size = sizeof(attnlab_plugin_descriptor) - 8;
  if (BROKEN_KIND == KIND_TORCH) d.torch_version = "0.4.1";
  if (BROKEN_KIND == KIND_MISNAMED) d.name = "someone_else";
  return d;
}

}  // namespace

#if BROKEN_KIND == KIND_NO_SYMBOL
extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry_misspelt(void) {
#else
extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
#endif
  static const attnlab_plugin_descriptor descriptor = make_descriptor();
  return &descriptor;
}
