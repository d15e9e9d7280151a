// libFuzzer target: the override grammar (core/config/override_parser.h), as typed on the
// command line and written in `matrix:` blocks.
// Properties: parse_override throws nothing but ConfigError; a parsed single value, written
// back with to_flow_yaml, parses to the same value (yaml_writer.h promises it); override_text
// of a parsed override parses again to the same kind, key and value.
#include <cstddef>
#include <cstdint>
#include <string>

#include "attnlab/config/yaml_writer.h"
#include "fuzz_util.h"
#include "override_parser.h"

using namespace attnlab;
using config::Override;

namespace {

const config::Origin kOrigin{"<override>", 0, 0, "fuzz"};

void check_flow_round_trip(const nlohmann::json& value) {
  const std::string text = "k=" + config::to_flow_yaml(value);
  Override back;
  try {
    back = config::parse_override(text, kOrigin);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "value %s: '%s' does not parse: %s\n", value.dump().c_str(),
                 text.c_str(), e.what());
    fuzz::require(false, "to_flow_yaml output parses as an override value");
  }
  if (back.values.size() != 1 || !fuzz::same_json(back.values[0].value, value)) {
    std::fprintf(stderr, "value %s: '%s' parses to %zu values, first %s\n", value.dump().c_str(),
                 text.c_str(), back.values.size(),
                 back.values.empty() ? "-" : back.values[0].value.dump().c_str());
    fuzz::require(false, "parse_override(\"k=\" + to_flow_yaml(v)) gives back v");
  }
}

void check_text_round_trip(const Override& parsed) {
  const auto* value = parsed.values.empty() ? nullptr : &parsed.values[0];
  const std::string text = config::override_text(parsed.kind, parsed.key, value);
  Override back;
  try {
    back = config::parse_override(text, kOrigin);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "override_text '%s' does not parse: %s\n", text.c_str(), e.what());
    fuzz::require(false, "override_text output parses");
  }
  fuzz::require(back.kind == parsed.kind && back.key == parsed.key, "override_text keeps kind and key");
  fuzz::require(back.values.size() == parsed.values.size() &&
                    (!value || fuzz::same_json(back.values[0].value, value->value)),
                "override_text keeps the value");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Override parsed;
  try {
    parsed = config::parse_override(text, kOrigin);
  } catch (const config::ConfigError&) {
    return 0;  // rejected with the documented error: fine
  }
  for (const auto& v : parsed.values) check_flow_round_trip(v.value);
  if (!parsed.sweep) check_text_round_trip(parsed);
  return 0;
}
