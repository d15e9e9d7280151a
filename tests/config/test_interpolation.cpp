// Interpolation: absolute, relative (OmegaConf semantics), env with default, string
// interpolation, nesting, chains, escapes; resolved after merging and overrides.
#include <cstdlib>

#include "config_test_util.h"

using namespace attnlab::config;
using namespace attnlab::config::test;
using nlohmann::json;

TEST_CASE("absolute, string and typed interpolation", "[interpolation]") {
  TempDir dir;
  const long long seed = random_int(0, 1000000);
  dir.write("exp.yaml", "dims:\n  a: 1\nshape: x${dims}\n");
  dir.write(
      "ok.yaml",
      "seed: " + std::to_string(seed) +
          "\nrun: run_${seed}\ncopy: ${seed}\nmodel:\n  d_model: 64\n  d_ff: ${model.d_model}\n"
          "sub: ${model}\nliteral: \\${seed}\nlist: [1, '${seed}']\nchain: ${chain2}\nchain2: "
          "${copy}\n");
  const auto c = compose(dir, "ok.yaml").at(0);
  CHECK(c.tree["run"] == "run_" + std::to_string(seed));
  CHECK(c.tree["copy"] == seed);  // a whole-value interpolation keeps the type
  CHECK(c.tree["model"]["d_ff"] == 64);
  CHECK(c.tree["sub"] == json::parse(R"({"d_model": 64, "d_ff": 64})"));
  CHECK(c.tree["literal"] == "${seed}");
  CHECK(c.tree["list"][1] == seed);
  CHECK(c.tree["chain"] == seed);
  CHECK_CONFIG_ERROR(compose(dir, "exp.yaml"), "shape", "exp.yaml:3:1",
                     "'${dims}' is a object and cannot be part of a string");
}

TEST_CASE("relative interpolation: '.' is the containing map", "[interpolation]") {
  TempDir dir;
  dir.write(
      "exp.yaml",
      "x: top\na:\n  x: mid\n  b:\n    x: low\n    same: ${.x}\n    up: ${..x}\n    top: ${...x}\n"
      "  c: ${.b.x}\n");
  const auto c = compose(dir, "exp.yaml").at(0);
  CHECK(c.tree["a"]["b"]["same"] == "low");
  CHECK(c.tree["a"]["b"]["up"] == "mid");
  CHECK(c.tree["a"]["b"]["top"] == "top");
  CHECK(c.tree["a"]["c"] == "low");
}

TEST_CASE("env interpolation with and without default; nested interpolation", "[interpolation]") {
  TempDir dir;
  const long long value = random_int(1, 1000000);
  ::setenv("ATTNLAB_TEST_VALUE", std::to_string(value).c_str(), 1);
  ::unsetenv("ATTNLAB_TEST_UNSET");
  dir.write("exp.yaml",
            "set: ${env:ATTNLAB_TEST_VALUE}\nfallback: ${env:ATTNLAB_TEST_UNSET,42}\n"
            "quoted: ${env:ATTNLAB_TEST_UNSET,'a,b'}\nin_string: v${env:ATTNLAB_TEST_VALUE}\n"
            "which: b\nchoices:\n  a: 1\n  b: 2\npicked: ${choices.${which}}\n");
  const auto c = compose(dir, "exp.yaml").at(0);
  CHECK(c.tree["set"] == value);
  CHECK(c.tree["fallback"] == 42);
  CHECK(c.tree["quoted"] == "a,b");
  CHECK(c.tree["in_string"] == "v" + std::to_string(value));
  CHECK(c.tree["picked"] == 2);
}

TEST_CASE("interpolation sees the values after overrides", "[interpolation]") {
  TempDir dir;
  dir.write("exp.yaml", "seed: 1\nrun: s${seed}\n");
  const auto cells = compose(dir, "exp.yaml", {"seed=3,4"});
  REQUIRE(cells.size() == 2);
  CHECK(cells[0].tree["run"] == "s3");
  CHECK(cells[1].tree["run"] == "s4");
}
