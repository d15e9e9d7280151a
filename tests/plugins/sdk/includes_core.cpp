// SDK fixture that must NOT compile: a plugin reaching for a core header (the results store)
// that the SDK does not expose. The CTest plugins_sdk_includes_core expects the compiler to
// report attnlab/store/store.h as not found.
#include "attnlab/plugin_abi.h"
#include "attnlab/store/store.h"

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) { return nullptr; }
