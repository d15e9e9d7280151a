// A test plugin whose variant constructor throws: create must catch it and return NULL with
// the message, which the loader reports.
#include <stdexcept>

#include "attnlab/plugin/plugin_support.h"

namespace {

attnlab::AttentionVariant* make(const attnlab_layer_dims&, const nlohmann::json&) {
  throw std::runtime_error("this layer refuses to exist");
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor =
      attnlab::plugin::describe_plugin<make>("throwing", "0.0.1", "create always throws");
  return &descriptor;
}
