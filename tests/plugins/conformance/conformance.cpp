// The conformance suite's shared pieces: samples, option sets and the per-plugin SECTION loop
// (conformance.h).
#include "conformance.h"

#include <regex>

namespace attnlab::test::conformance {
namespace {

nlohmann::json merged(nlohmann::json base, const nlohmann::json& over) {
  if (over.is_object()) base.update(over);
  return base;
}

PluginUnderTest under_test(const plugin::LoadedPlugin& plugin) {
  const auto* reference = find_reference(plugin.name);
  const auto small = reference ? merged(nlohmann::json::object(), reference->small_options)
                               : nlohmann::json::object();
  const auto smooth = reference ? merged(small, reference->smooth_options) : small;
  return {plugin, reference, plugin.complete_options(nlohmann::json::object()),
          plugin.complete_options(small), plugin.complete_options(smooth)};
}

}  // namespace

Sample Sample::clone() const {
  return {q_BHTD.clone(), k_BKTD.clone(), v_BKTD.clone(), x_BTC.clone()};
}

Sample random_sample(int64_t T, torch::Dtype dtype) {
  const auto o = torch::TensorOptions().dtype(dtype);
  return {torch::randn({B, H, T, D}, o), torch::randn({B, K, T, D}, o),
          torch::randn({B, K, T, D}, o), torch::randn({B, T, C}, o)};
}

torch::Tensor run(AttentionVariant& variant, const Sample& s, int64_t position_offset) {
  AttentionContext ctx;
  ctx.x_BTC = &s.x_BTC;
  ctx.position_offset = position_offset;
  return variant.forward(s.q_BHTD, s.k_BKTD, s.v_BKTD, ctx);
}

bool PluginUnderTest::declares(const std::string& key) const {
  for (const auto& option : plugin.options) {
    if (option.key == key) return true;
  }
  return false;
}

std::vector<OptionSet> PluginUnderTest::option_sets() const {
  return {{"defaults", defaults, {12, 40, 300, 520}}, {"small_options", small, {12, 40, 300}}};
}

std::shared_ptr<AttentionVariant> PluginUnderTest::create(const nlohmann::json& options,
                                                          torch::Dtype dtype) const {
  auto variant = plugin.create(kDims, options);
  variant->to(dtype);
  return variant;
}

void PluginUnderTest::require_reference() const {
  if (!reference) {
    FAIL("no reference for plugin " << plugin.name << ": add tests/plugins/references/"
                                    << plugin.name << ".cpp");
  }
}

ReferenceOutput PluginUnderTest::reference_output(const AttentionVariant& variant,
                                                  const nlohmann::json& options,
                                                  const Sample& s) const {
  require_reference();
  return reference->compute({s.q_BHTD, s.k_BKTD, s.v_BKTD, s.x_BTC, &variant, options, kDims});
}

void for_each_plugin(const std::string& what,
                     const std::function<void(const PluginUnderTest&)>& check) {
  static plugin::PluginRegistry registry(ATTNLAB_BINARY_DIR "/plugins");
  const auto names = registry.available();
  REQUIRE(names.size() >= 5);
  for (const auto& name : names) {
    SECTION(name + ": " + what) {
      torch::manual_seed(42);
      check(under_test(registry.load(name)));
    }
  }
}

bool is_snake_case(const std::string& name) {
  static const std::regex snake_case("[a-z][a-z0-9]*(_[a-z0-9]+)*");
  return std::regex_match(name, snake_case);
}

}  // namespace attnlab::test::conformance
