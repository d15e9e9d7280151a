// The versioned C entry point every attention plugin exports (see docs/PLUGINS.md).
// A plugin is a shared library exporting `attnlab_plugin_entry`, which returns a pointer to a
// static descriptor. The loader checks, in order: path, dlopen, symbol, abi_version,
// struct_size, torch_version and C++ ABI, then the options against `options`.
// Only plain C types cross this boundary, so the layout can be checked before anything
// C++ is touched.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define ATTNLAB_PLUGIN_ABI_VERSION 3u
#define ATTNLAB_PLUGIN_ENTRY_SYMBOL "attnlab_plugin_entry"

#ifdef __cplusplus
extern "C" {
#endif

// One option a plugin accepts under `attention.options.<name>` in the config.
typedef struct attnlab_option_spec {
  const char* name;           // key, snake_case
  const char* type;           // "int", "float", "bool" or "string"
  const char* default_value;  // JSON text of the default, e.g. "256", "true", "\"x\""
  double min_value;           // inclusive bounds for int/float (use -inf/+inf for none)
  double max_value;
  const char* choices;        // comma-separated allowed values for strings, or NULL
  const char* description;    // one line for `attnlab plugins list` / `config schema`
} attnlab_option_spec;

// Shapes of the layer a variant is created for.
typedef struct attnlab_layer_dims {
  int64_t d_model;
  int64_t n_head;
  int64_t n_kv_head;
  int64_t head_dim;
  int64_t n_layer;
  int64_t layer_index;
} attnlab_layer_dims;

typedef struct attnlab_plugin_descriptor {
  uint32_t abi_version;   // ATTNLAB_PLUGIN_ABI_VERSION the plugin was built with: checked first
  uint32_t struct_size;   // sizeof(attnlab_plugin_descriptor) the plugin was built with
  const char* name;       // must equal the plugin's file stem (libattnlab_<name>.so)
  const char* version;    // the plugin's own version, recorded with each run
  const char* torch_version;  // TORCH_VERSION it was compiled against
  int32_t cxx11_abi;          // _GLIBCXX_USE_CXX11_ABI it was compiled with
  const char* description;    // one line: what the variant computes
  const attnlab_option_spec* options;
  uint32_t n_options;
  // Creates the variant for one layer. `options_json` is a JSON object holding every declared
  // option (defaults filled in, already validated). Returns an `attnlab::AttentionVariant*`,
  // or NULL with a message written to `error` (at most error_len bytes, NUL-terminated).
  void* (*create)(const attnlab_layer_dims* dims, const char* options_json, char* error,
                  size_t error_len);
  // Destroys what create returned.
  void (*destroy)(void* variant);
} attnlab_plugin_descriptor;

typedef const attnlab_plugin_descriptor* (*attnlab_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
