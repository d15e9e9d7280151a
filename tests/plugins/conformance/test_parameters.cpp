// Conformance, a variant's parameters: saved with torch::save and loaded into a variant
// created with another seed they give bit-identical outputs, and each belongs to the model's
// optimizer group ("") or a snake_case group.
#include <sstream>

#include "conformance.h"

using namespace attnlab::test::conformance;

namespace {

void check_save_load(const PluginUnderTest& p) {
  torch::manual_seed(1);
  auto saved = p.create(p.small);
  torch::manual_seed(2);
  auto loaded = p.create(p.small);
  std::stringstream stream;
  std::shared_ptr<torch::nn::Module> saved_module = saved, loaded_module = loaded;
  torch::save(saved_module, stream);
  torch::load(loaded_module, stream);
  for (const auto& parameter : saved->named_parameters()) {
    INFO("parameter " << parameter.key());
    CHECK(torch::equal(parameter.value(), loaded->named_parameters()[parameter.key()]));
  }
  const auto s = random_sample(40);
  torch::NoGradGuard no_grad;
  CHECK(torch::equal(run(*saved, s), run(*loaded, s)));
}

void check_parameter_groups(const PluginUnderTest& p) {
  auto variant = p.create(p.defaults);
  for (const auto& parameter : variant->named_parameters()) {
    const auto group = variant->parameter_group(parameter.key());
    INFO("parameter " << parameter.key() << " in group '" << group << "'");
    CHECK((group.empty() || is_snake_case(group)));
  }
}

}  // namespace

TEST_CASE("every plugin: parameters save, load and name their groups", "[conformance]") {
  for_each_plugin("saved parameters load into a fresh variant, same outputs bit for bit",
                  check_save_load);
  for_each_plugin("parameter_group is empty or snake_case", check_parameter_groups);
}
