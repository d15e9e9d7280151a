// SchemaRegistry::validate: defaults, int->float, unknown keys at every level with
// suggestions, types, ranges, choices, required keys, open and dynamic sections, infinite
// and NaN numbers, ints past 64 bits; and validate_section, the same rules for one section
// alone.
#include "attnlab/config/schema.h"
#include "config_test_util.h"

using namespace attnlab::config;
using namespace attnlab::config::test;
using nlohmann::json;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A registry shaped like the real one: root, model, train, an open report section and the
// attention options that depend on attention.variant.
SchemaRegistry test_registry() {
  SchemaRegistry r;
  r.add({"", "root", {{"seed", ValueType::Int, 0, 0, kInf, {}, "random seed"}}, false});
  r.add({"model",
         "model",
         {{"d_model", ValueType::Int, nullptr, 8, 8192, {}, "width"},
          {"n_layers", ValueType::Int, 2, 1, 128, {}, "depth"},
          {"norm.eps", ValueType::Float, 1e-6, 0, 1, {}, "RMSNorm epsilon"},
          {"rope_theta", ValueType::Float, 1e4, 1, kInf, {}, "RoPE base"},
          {"tie", ValueType::Bool, true, -kInf, kInf, {}, "tie embeddings"}},
         false});
  r.add({"train",
         "train",
         {{"lr", ValueType::Float, 3e-4, 0, 10, {}, "peak learning rate"},
          {"schedule",
           ValueType::String,
           "cosine",
           -kInf,
           kInf,
           {"cosine", "linear", "constant"},
           "lr schedule"},
          {"betas", ValueType::List, json::array({0.9, 0.95}), -kInf, kInf, {}, "AdamW betas"}},
         false});
  r.add({"report", "report", {}, true});
  r.add(
      {"attention",
       "attention",
       {{"variant", ValueType::String, "dense", -kInf, kInf, {"dense", "fixed_window"}, "plugin"}},
       false});
  r.add_dynamic("attention.options", [](const ResolvedConfig& c) {
    const std::string variant = c.tree["attention"]["variant"].get<std::string>();
    SectionSchema s{"attention.options", "plugin " + variant, {}, false};
    if (variant == "fixed_window")
      s.keys.push_back({"window", ValueType::Int, 256, 1, 65536, {}, "window w"});
    return s;
  });
  return r;
}

ResolvedConfig composed(const TempDir& dir, const std::string& yaml,
                        const std::vector<std::string>& overrides = {}) {
  dir.write("exp.yaml", yaml);
  return compose(dir, "exp.yaml", overrides).at(0);
}

}  // namespace

TEST_CASE("validate fills defaults and converts ints for floats", "[schema]") {
  TempDir dir;
  const long long d_model = random_int(8, 8192);
  ResolvedConfig c =
      composed(dir, "model:\n  d_model: " + std::to_string(d_model) +
                        "\ntrain:\n  lr: 1\n"
                        "report:\n  anything: [goes]\nattention:\n  variant: fixed_window\n");
  test_registry().validate(c);
  CHECK(c.tree["model"]["d_model"] == d_model);
  CHECK(c.tree["model"]["n_layers"] == 2);
  CHECK(c.tree["model"]["norm"]["eps"] == 1e-6);
  CHECK(c.tree["train"]["lr"].is_number_float());
  CHECK(c.tree["train"]["lr"] == 1.0);
  CHECK(c.tree["train"]["schedule"] == "cosine");
  CHECK(c.tree["seed"] == 0);
  CHECK(c.tree["attention"]["options"]["window"] == 256);  // the dynamic section's default
  CHECK(c.tree["report"]["anything"] == json::array({"goes"}));
  CHECK(c.origin_of("model.n_layers").str() == "default of model");
  CHECK(c.origin_of("attention.options.window").str() == "default of plugin fixed_window");
  // An integral float is accepted for an int key.
  ResolvedConfig d = composed(dir, "model:\n  d_model: 1.28e2\n");
  test_registry().validate(d);
  CHECK(d.tree["model"]["d_model"].is_number_integer());
  CHECK(d.tree["model"]["d_model"] == 128);
}

TEST_CASE("validate rejects what the schema does not allow", "[schema]") {
  TempDir dir;
  const auto reg = test_registry();
  auto check = [&](const std::string& yaml, const std::string& key, const std::string& where,
                   const std::string& gist) {
    ResolvedConfig c = composed(dir, yaml);
    CHECK_CONFIG_ERROR(reg.validate(c), key, where, gist);
  };
  check("model:\n  d_model: 64\n  n_layrs: 3\n", "model.n_layrs", "exp.yaml:3:3",
        "unknown key; did you mean 'model.n_layers'?");
  check("modle:\n  d_model: 64\n", "modle", "exp.yaml:1:1", "did you mean 'model'?");
  check("model:\n  d_model: 64\n  norm:\n    epz: 1\n", "model.norm.epz", "exp.yaml:4:5",
        "did you mean 'model.norm.eps'?");
  check("model:\n  d_model: 64\nattention:\n  variant: fixed_window\n  options:\n    windw: 3\n",
        "attention.options.windw", "exp.yaml:6:5", "did you mean 'attention.options.window'?");
  check("model:\n  d_model: 64\nattention:\n  options:\n    window: 3\n",
        "attention.options.window", "exp.yaml:5:5",
        "unknown key (attention.options accepts no keys)");  // dense has no options
  check("model:\n  d_model: 9000\n", "model.d_model", "exp.yaml:2:3",
        "out of range: must be in [8, 8192]");
  check("model:\n  d_model: abc\n", "model.d_model", "exp.yaml:2:3",
        "expected int, got abc (string)");
  check("model:\n  d_model: 64.5\n", "model.d_model", "exp.yaml:2:3", "expected int, got 64.5");
  check("model:\n  d_model: 64\n  tie: 1\n", "model.tie", "exp.yaml:3:3", "expected bool");
  check("model:\n  d_model: 64\ntrain:\n  schedule: cosin\n", "train.schedule", "exp.yaml:4:3",
        "'cosin' is not one of: cosine, linear, constant; did you mean 'cosine'?");
  check("model:\n  d_model: 64\ntrain:\n  lr: -0.1\n", "train.lr", "exp.yaml:4:3",
        "must be in [0, 10]");
  check("model:\n  d_model: 64\ntrain:\n  betas: 0.9\n", "train.betas", "exp.yaml:4:3",
        "expected list");
  check("model:\n  n_layers: 3\n", "model.d_model", "exp.yaml:1:1", "missing required key");
  check("model: 5\n", "model", "exp.yaml:1:1", "must be a map");
  check("model:\n  d_model: 64\nseed: -1\n", "seed", "exp.yaml:3:1", "must be >= 0");
}

TEST_CASE("sections() lists static and, given a config, dynamic sections", "[schema]") {
  TempDir dir;
  const auto reg = test_registry();
  CHECK(reg.sections().size() == 5);
  ResolvedConfig c = composed(dir, "attention:\n  variant: fixed_window\n");
  const auto all = reg.sections(&c);
  REQUIRE(all.size() == 6);
  CHECK(all.back().path == "attention.options");
  CHECK(all.back().keys.at(0).key == "window");
  CHECK(reg.declares("attention.options.window", c));
  CHECK_FALSE(reg.declares("attention.options.windw", c));
  CHECK(std::string(to_string(ValueType::Float)) == "float");
}

TEST_CASE("validate_section checks one section alone by the same rules", "[schema]") {
  const SectionSchema section{"attention.options",
                              "plugin fixed_window",
                              {{"window", ValueType::Int, 256, 1, 65536, {}, "window w"},
                               {"scale", ValueType::Float, 1.0, 0, 10, {}, "a scale"}},
                              false};
  const json defaults = {{"window", 256}, {"scale", 1.0}};
  CHECK(validate_section(section, json::object()) == defaults);
  CHECK(validate_section(section, nullptr) == defaults);
  const long long window = random_int(1, 65536);
  CHECK(validate_section(section, {{"window", window}})["window"] == window);
  // A whole float for an int becomes an int, an int for a float a float.
  const json converted = validate_section(section, {{"window", 2.0}, {"scale", 3}});
  CHECK(converted["window"].is_number_integer());
  CHECK(converted["window"] == 2);
  CHECK(converted["scale"].is_number_float());
  CHECK(converted["scale"] == 3.0);

  const std::string nowhere = "<unknown origin>";  // values given directly have no file
  CHECK_CONFIG_ERROR(validate_section(section, {{"window", 2.5}}), "attention.options.window",
                     nowhere, "expected int, got 2.5");
  CHECK_CONFIG_ERROR(validate_section(section, {{"window", 0}}), "attention.options.window",
                     nowhere, "value 0 is out of range: must be in [1, 65536]");
  CHECK_CONFIG_ERROR(validate_section(section, {{"windw", 3}}), "attention.options.windw", nowhere,
                     "unknown key; did you mean 'attention.options.window'?");
  CHECK_CONFIG_ERROR(validate_section(section, json::array()), "attention.options", nowhere,
                     "must be a map, got [] (array)");
  const SectionSchema empty{"attention.options", "plugin dense", {}, false};
  CHECK(validate_section(empty, nullptr) == json::object());
  CHECK_CONFIG_ERROR(validate_section(empty, {{"window", 3}}), "attention.options.window", nowhere,
                     "unknown key (attention.options accepts no keys)");
}

TEST_CASE("no key takes an infinite or NaN number, whatever its range", "[schema]") {
  TempDir dir;
  const auto reg = test_registry();
  auto check = [&](const std::string& yaml, const std::vector<std::string>& overrides,
                   const std::string& key, const std::string& where, const std::string& gist) {
    ResolvedConfig c = composed(dir, yaml, overrides);
    CHECK_CONFIG_ERROR(reg.validate(c), key, where, gist);
  };
  const std::string base = "model:\n  d_model: 64\n";
  for (const std::string inf : {".inf", "+.Inf", "-.INF"}) {
    const std::string shown = inf[0] == '-' ? "-.inf" : ".inf";
    check(base + "  rope_theta: " + inf + "\n", {}, "model.rope_theta", "exp.yaml:3:3",
          "value " + shown + " is not a finite number; config numbers must be finite");
  }
  check(base, {"+model.rope_theta=.nan"}, "model.rope_theta", "override '+model.rope_theta=.nan'",
        "value .nan is not a finite number");
  check(base + "train:\n  betas: [0.9, .nan]\n", {}, "train.betas.1", "exp.yaml:4:16",
        "value .nan is not a finite number");
  check(base + "report:\n  x:\n    y: .inf\n", {}, "report.x.y", "exp.yaml:5:5",
        "not a finite number");  // open sections too
  check(base + "seed: .inf\n", {}, "seed", "exp.yaml:3:1", "not a finite number");
  const double finite = static_cast<double>(random_int(1, 1000000)) * 1e300;
  ResolvedConfig ok = composed(dir, base + "  rope_theta: " + std::to_string(finite) + "\n");
  reg.validate(ok);
  CHECK(ok.tree["model"]["rope_theta"].get<double>() == Approx(finite));
  const SectionSchema section{
      "attention.options", "plugin x", {{"scale", ValueType::Float, 1.0, 0, kInf, {}, "s"}}, false};
  CHECK_CONFIG_ERROR(
      validate_section(section, {{"scale", std::numeric_limits<double>::infinity()}}),
      "attention.options.scale", "<unknown origin>", "value .inf is not a finite");
}

TEST_CASE("an int past 64 bits is too large, with the allowed range", "[schema]") {
  TempDir dir;
  const auto reg = test_registry();
  const std::string digits = "1" + std::string(static_cast<size_t>(random_int(19, 300)), '7');
  ResolvedConfig from_file = composed(dir, "model:\n  d_model: 64\nseed: " + digits + "\n");
  CHECK_CONFIG_ERROR(reg.validate(from_file), "seed", "exp.yaml:3:1",
                     "is too large for an int (64 bits); allowed range: [0, 9223372036854775807]");
  ResolvedConfig from_override = composed(dir, "model:\n  d_model: 64\n", {"+seed=-" + digits});
  CHECK_CONFIG_ERROR(reg.validate(from_override), "seed", "override '+seed=-" + digits + "'",
                     "is too small for an int (64 bits); allowed range: [0, 9223372036854775807]");
  ResolvedConfig bounded = composed(dir, "model:\n  d_model: 1e30\n");
  CHECK_CONFIG_ERROR(reg.validate(bounded), "model.d_model", "exp.yaml:2:3",
                     "too large for an int (64 bits); allowed range: [8, 8192]");
  // A whole float within 64 bits is that int, exactly.
  const long long big = random_int(1, 9000) * 1000000000000000LL;  // up to 9e18
  ResolvedConfig whole = composed(
      dir, "model:\n  d_model: 64\nseed: " + std::to_string(big / 1000000000000000LL) + "e15\n");
  reg.validate(whole);
  CHECK(whole.tree["seed"].is_number_integer());
  CHECK(whole.tree["seed"] == big);
}
