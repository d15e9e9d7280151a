// to_yaml / to_flow_yaml: the text reads back (through the config loader) to the same tree.
#include <fstream>
#include <limits>

#include "attnlab/config/yaml_writer.h"
#include "config_test_util.h"

using namespace attnlab::config;
using namespace attnlab::config::test;
using nlohmann::json;

TEST_CASE("to_yaml round-trips through the loader", "[yaml_writer]") {
  TempDir dir;
  const double lr = static_cast<double>(random_int(1, 999999)) * 1e-7;
  json tree = {
      {"model", {{"d_model", random_int(1, 1 << 20)}, {"dropout", 0.0}, {"norm", "rms"}}},
      {"train", {{"lr", lr}, {"big", 1e300}, {"betas", {0.9, 0.95}}, {"nothing", nullptr}}},
      {"strings",
       {"true", "123", "1e-3", "", " padded ", "a: b", "#hash", "- dash", "-x", "null", "$x{",
        "a,b", "multi\nline", "quote'\"", "ünïcödé", "[x]", "~"}},
      {"nested",
       json::array({json::array({1, 2}), json{{"a", 1}, {"b", json::array()}}, json::object()})},
      {"inf", std::numeric_limits<double>::infinity()},
      {"flags", {{"on", true}, {"off", false}}},
      {"empty", json::object()},
  };
  const std::string text = to_yaml(tree);
  INFO(text);
  dir.write("out.yaml", text);
  const auto back = compose(dir, "out.yaml").at(0).tree;
  CHECK(back == tree);
  CHECK(text.find("d_model: " + tree["model"]["d_model"].dump() + "\n") != std::string::npos);
  CHECK(text.find("dropout: 0.0\n") != std::string::npos);  // floats stay floats
}

TEST_CASE("to_flow_yaml quotes what an override would split or retype", "[yaml_writer]") {
  CHECK(to_flow_yaml(json("gated_window")) == "gated_window");
  CHECK(to_flow_yaml(json("a,b")) == "\"a,b\"");
  CHECK(to_flow_yaml(json("42")) == "\"42\"");
  CHECK(to_flow_yaml(json("1e400")) == "\"1e400\"");  // reads as a number past the float range (fuzz F5)
  CHECK(to_flow_yaml(json::array({1, "x"})) == "[1, x]");
  CHECK(to_flow_yaml(json{{"a", 1.5}}) == "{a: 1.5}");
  CHECK(to_flow_yaml(json(2.0)) == "2.0");
  CHECK(to_yaml(json::object()) == "{}\n");
}

TEST_CASE("to_flow_yaml output parses back as the same override value", "[yaml_writer]") {
  TempDir dir;
  dir.write("exp.yaml", "seed: 0\n");
  // Random strings of the characters the override grammar treats specially: both quotes, the
  // backslash that escapes inside "...", commas, brackets, '=' and spaces.
  const std::string alphabet = "a\"'\\,=()[]{} :#";
  std::vector<json> values = {"='a\"'", "\\\"", "a\\", "x\"y'z", json::array({"'\"", "\\"})};
  for (int i = 0; i < 30; ++i) {
    std::string s;
    for (long long n = random_int(1, 10); n > 0; --n) {
      s += alphabet[static_cast<size_t>(random_int(0, alphabet.size() - 1))];
    }
    values.push_back(s);
  }
  for (const auto& v : values) {
    const std::string text = "+v=" + to_flow_yaml(v);
    INFO(text);
    CHECK(compose(dir, "exp.yaml", {text}).at(0).tree["v"] == v);
  }
}
