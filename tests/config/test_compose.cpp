// Composition: defaults lists, config groups, _self_ ordering, nested defaults, override and
// optional entries, search path, experiment names, origins.
#include "config_test_util.h"

using namespace attnlab::config;
using namespace attnlab::config::test;
using nlohmann::json;

namespace {

// A small experiments/ folder: groups model/, data/, train/, attention/ and one experiment.
void write_groups(const TempDir& dir, long long d_model, long long steps) {
  dir.write("model/tiny.yaml",
            "d_model: " + std::to_string(d_model) + "\nn_layers: 2\nn_heads: 4\n");
  dir.write("model/small.yaml", "d_model: 512\nn_layers: 8\nn_heads: 8\n");
  dir.write("data/fineweb_sample.yaml", "path: ../shared/data\nseq_len: 256\n");
  dir.write("train/smoke.yaml", "steps: " + std::to_string(steps) + "\nlr: 0.001\nbatch_size: 8\n");
  dir.write("attention/dense.yaml", "variant: dense\n");
  dir.write("attention/gated_window.yaml", "variant: gated_window\noptions:\n  window: 256\n");
}

}  // namespace

TEST_CASE("defaults place each group option under its group key", "[compose]") {
  TempDir dir;
  const long long d_model = random_int(16, 4096), steps = random_int(1, 100000);
  write_groups(dir, d_model, steps);
  dir.write("smoke.yaml",
            "defaults:\n  - model: tiny\n  - data: fineweb_sample\n  - train: smoke\n"
            "  - attention: dense\n\nseed: 7\ntrain:\n  lr: 0.01\n");
  const auto cells = compose(dir, "smoke.yaml");
  REQUIRE(cells.size() == 1);
  const ResolvedConfig& c = cells[0];
  CHECK(c.tree["model"]["d_model"] == d_model);
  CHECK(c.tree["train"]["steps"] == steps);
  CHECK(c.tree["train"]["lr"] == 0.01);  // the experiment (_self_ last) wins
  CHECK(c.tree["train"]["batch_size"] == 8);
  CHECK(c.tree["attention"]["variant"] == "dense");
  CHECK(c.tree["seed"] == 7);
  CHECK_FALSE(c.tree.contains("defaults"));
  CHECK(c.experiment == "smoke");
  CHECK(c.cell_name.empty());
  CHECK(c.overrides.empty());
  CHECK(c.at("model.d_model") == d_model);
  // Origins: group file positions (1-based) and the experiment's own lines.
  CHECK(c.origin_of("model.d_model").file == (dir.path() / "model/tiny.yaml").string());
  CHECK(c.origin_of("model.d_model").line == 1);
  CHECK(c.origin_of("model.n_heads").line == 3);
  CHECK(c.origin_of("train.lr").str() == (dir.path() / "smoke.yaml").string() + ":9:3");
  CHECK(c.origin_of("train.steps").file == (dir.path() / "train/smoke.yaml").string());
}

TEST_CASE("_self_ first lets the defaults override the experiment", "[compose]") {
  TempDir dir;
  write_groups(dir, 128, 10);
  dir.write("exp.yaml", "defaults:\n  - _self_\n  - train: smoke\ntrain:\n  lr: 0.5\n  extra: 1\n");
  const auto c = compose(dir, "exp.yaml").at(0);
  CHECK(c.tree["train"]["lr"] == 0.001);
  CHECK(c.tree["train"]["extra"] == 1);
}

TEST_CASE("lists replace and maps merge recursively", "[compose]") {
  TempDir dir;
  dir.write("model/m.yaml", "layers: [1, 2, 3]\nnested:\n  a: 1\n  b: {c: 2, d: 3}\n");
  dir.write("exp.yaml",
            "defaults:\n  - model: m\nmodel:\n  layers: [9]\n  nested:\n    b:\n      d: 4\n");
  const auto c = compose(dir, "exp.yaml").at(0);
  CHECK(c.tree["model"]["layers"] == json::array({9}));
  CHECK(c.tree["model"]["nested"] == json::parse(R"({"a": 1, "b": {"c": 2, "d": 4}})"));
  CHECK(c.origin_of("model.nested.b.c").file == (dir.path() / "model/m.yaml").string());
  CHECK(c.origin_of("model.nested.b.d").file == (dir.path() / "exp.yaml").string());
}

TEST_CASE("group files have their own defaults lists", "[compose]") {
  TempDir dir;
  // model/base.yaml is a config of the same group; model/norm/rms.yaml a nested group;
  // /train: smoke an absolute group chosen from inside model/.
  dir.write("model/base.yaml", "d_model: 64\nvocab: 100\n");
  dir.write("model/norm/rms.yaml", "eps: 1.0e-6\n");
  dir.write("train/smoke.yaml", "steps: 3\n");
  dir.write("model/tiny.yaml",
            "defaults:\n  - base\n  - norm: rms\n  - /train: smoke\n  - _self_\nd_model: 128\n");
  dir.write("exp.yaml", "defaults:\n  - model: tiny\n");
  const auto c = compose(dir, "exp.yaml").at(0);
  CHECK(c.tree["model"]["d_model"] == 128);
  CHECK(c.tree["model"]["vocab"] == 100);
  CHECK(c.tree["model"]["norm"]["eps"] == 1e-6);
  CHECK(c.tree["train"]["steps"] == 3);
}

TEST_CASE("override, optional and null entries", "[compose]") {
  TempDir dir;
  write_groups(dir, 128, 10);
  dir.write("base.yaml", "defaults:\n  - model: tiny\n  - attention: dense\nseed: 1\n");
  dir.write("exp.yaml",
            "defaults:\n  - base\n  - optional tokenizer: missing\n  - train: null\n"
            "  - override /attention: gated_window\n  - _self_\nseed: 2\n");
  const auto c = compose(dir, "exp.yaml").at(0);
  CHECK(c.tree["attention"]["variant"] == "gated_window");
  CHECK(c.tree["attention"]["options"]["window"] == 256);
  CHECK_FALSE(c.tree.contains("train"));
  CHECK_FALSE(c.tree.contains("tokenizer"));
  CHECK(c.tree["seed"] == 2);
  // The command line beats the defaults list's override entry.
  const auto d = compose(dir, "exp.yaml", {"attention=dense"}).at(0);
  CHECK(d.tree["attention"]["variant"] == "dense");
}

TEST_CASE("groups come from the search path when not next to the experiment", "[compose]") {
  TempDir dir, other;
  write_groups(dir, 96, 5);
  other.write("exps/x.yaml", "defaults:\n  - model: tiny\n");
  ComposeOptions options;
  options.search_path = {dir.path()};
  const auto c = compose_experiment(other.path() / "exps/x.yaml", {}, options).at(0);
  CHECK(c.tree["model"]["d_model"] == 96);
  // The experiment's own folder comes first.
  other.write("exps/model/tiny.yaml", "d_model: 32\n");
  CHECK(compose_experiment(other.path() / "exps/x.yaml", {}, options)
            .at(0)
            .tree["model"]["d_model"] == 32);
}

TEST_CASE("experiment name and resolve_experiment_path", "[compose]") {
  TempDir dir;
  dir.write("named.yaml", "experiment:\n  name: ablation_v2\nseed: 1\n");
  dir.write("plain.yaml", "seed: 1\n");
  CHECK(compose(dir, "named.yaml").at(0).experiment == "ablation_v2");
  CHECK(compose(dir, "plain.yaml").at(0).experiment == "plain");
  ComposeOptions options;
  options.search_path = {dir.path()};
  CHECK(resolve_experiment_path("plain", options) == dir.path() / "plain.yaml");
  const auto by_path = (dir.path() / "named.yaml").string();
  CHECK(resolve_experiment_path(by_path, options) == by_path);
  CHECK_CONFIG_ERROR(resolve_experiment_path("plian", options), "", "plian",
                     "no experiment 'plian'");
  CHECK_CONFIG_ERROR(resolve_experiment_path("plian", options), "", "plian",
                     "did you mean 'plain'?");
}
