// The malformed-config suite: every kind of bad input gives a ConfigError naming the dotted
// key (or "" when the problem is not about one key), the file:line:column (or the override)
// and the gist of the fix. Schema violations (unknown keys at every level, types, ranges,
// choices, required keys) are in test_schema.cpp.
#include <cstdlib>

#include "config_test_util.h"

using namespace attnlab::config;
using namespace attnlab::config::test;

namespace {

// Writes exp.yaml with `yaml` (plus the groups model/{tiny,small}, attention/dense and
// train/smoke) and composes it with `overrides`.
std::vector<ResolvedConfig> compose_text(const TempDir& dir, const std::string& yaml,
                                         const std::vector<std::string>& overrides = {}) {
  dir.write("model/tiny.yaml", "d_model: 128\n");
  dir.write("model/small.yaml", "d_model: 512\n");
  dir.write("attention/dense.yaml", "variant: dense\n");
  dir.write("train/smoke.yaml", "lr: 0.001\nsteps: 10\n");
  dir.write("exp.yaml", yaml);
  return compose(dir, "exp.yaml", overrides);
}

const std::string kBase = "defaults:\n  - model: tiny\n  - train: smoke\nseed: 0\n";

}  // namespace

TEST_CASE("malformed YAML files", "[malformed]") {
  TempDir dir;
  CHECK_CONFIG_ERROR(compose_text(dir, "a: [1, 2\nb: 3\n"), "", "exp.yaml:2:2",
                     "YAML syntax error");
  CHECK_CONFIG_ERROR(compose_text(dir, "a:\n  b: 1\n c: 2\n"), "", "exp.yaml:3:2",
                     "YAML syntax error");
  CHECK_CONFIG_ERROR(compose_text(dir, "x: 1\na: b: c\n"), "", "exp.yaml:2:5", "YAML syntax error");
  CHECK_CONFIG_ERROR(compose_text(dir, "a:\n\tb: 1\n"), "", "exp.yaml:2:1",
                     "tab character in indentation");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: 1\nb: 2\na: 3\n"), "a", "exp.yaml:3:1",
                     "duplicate key (first defined at line 1)");
  CHECK_CONFIG_ERROR(compose_text(dir, "m:\n  x: 1\n  y: 2\n  x: 2\n"), "m.x", "exp.yaml:4:3",
                     "duplicate key (first defined at line 2)");
  CHECK_CONFIG_ERROR(compose_text(dir, ""), "", "exp.yaml", "empty file");
  CHECK_CONFIG_ERROR(compose_text(dir, "# only a comment\n\n"), "", "exp.yaml", "empty file");
  CHECK_CONFIG_ERROR(compose_text(dir, std::string("a: 1\nb\0\x01\x02", 9)), "", "exp.yaml:2:2",
                     "binary file (NUL byte)");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: \xff\xfe\n"), "", "exp.yaml:1:4", "not UTF-8 text");
  CHECK_CONFIG_ERROR(compose_text(dir, "- a\n- b\n"), "", "exp.yaml:1:1",
                     "the top level must be a mapping (key: value), not a list");
  CHECK_CONFIG_ERROR(compose_text(dir, "just text\n"), "", "exp.yaml:1:1", "not a single value");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: 1\n---\nb: 2\n"), "", "exp.yaml:3:1",
                     "several YAML documents");
  CHECK_CONFIG_ERROR(compose_text(dir, "model:\n  norm.eps: 1\n"), "model.norm.eps", "exp.yaml:2:3",
                     "'.' separates nested keys");
  CHECK_CONFIG_ERROR(compose_text(dir, "a:\n  b: !!int 3\n"), "a.b", "exp.yaml:2:6",
                     "unsupported YAML tag");
  CHECK_CONFIG_ERROR(compose_text(dir, "a:\n  [x]: 3\n"), "a", "exp.yaml:2:3",
                     "a key must be a plain name");
  CHECK_CONFIG_ERROR(compose_experiment(dir.path() / "nope.yaml", {}, {}), "", "nope.yaml",
                     "experiment file not found");
  // An error in a group file points into the group file.
  dir.write("model/broken.yaml", "d_model: 1\nd_model: 2\n");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"model=broken"}), "d_model", "model/broken.yaml:2:1",
                     "duplicate key");
}

TEST_CASE("malformed defaults lists and group choices", "[malformed]") {
  TempDir dir;
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - model: huge\n"), "model", "exp.yaml:2:5",
                     "no option 'huge' in config group 'model'; available: small, tiny");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"model=tnyi"}), "model", "override 'model=tnyi'",
                     "did you mean 'tiny'?");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - modle: tiny\n"), "modle", "exp.yaml:2:5",
                     "unknown config group 'modle' (no folder modle/ in");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - modle: tiny\n"), "modle", "exp.yaml:2:5",
                     "did you mean 'model'?");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults: model\n"), "defaults", "exp.yaml:1:1",
                     "must be a list");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - {model: tiny, train: smoke}\n"),
                     "defaults.0", "exp.yaml:2:5", "bad defaults entry");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - model: [tiny]\n"), "defaults.0",
                     "exp.yaml:2:5", "must be a name");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - model: tiny\n  - model: small\n"), "model",
                     "exp.yaml:3:5", "is already chosen");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - _self_\n  - model: tiny\n  - _self_\n"),
                     "defaults.2", "exp.yaml:4:5", "_self_ appears twice");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - model@enc: tiny\n"), "defaults.0",
                     "exp.yaml:2:5", "package overrides ('model@enc') are not supported");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - override attention: dense\n"), "attention",
                     "exp.yaml:2:5", "no defaults list chooses group 'attention'; drop 'override'");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"attention=dense"}), "attention",
                     "override 'attention=dense'", "to add it use +attention=dense");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+model=small"}), "model", "override '+model=small'",
                     "to switch it use model=small");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"~attention"}), "attention", "override '~attention'",
                     "cannot drop config group 'attention'");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"model={a: 1}"}), "model", "override 'model={a: 1}'",
                     "its value must be an option name");
  dir.write("base.yaml", "defaults:\n  - exp\n");
  CHECK_CONFIG_ERROR(compose_text(dir, "defaults:\n  - base\n"), "defaults", "exp.yaml",
                     "include each other in a cycle");
  CHECK_CONFIG_ERROR(compose_text(dir, "experiment:\n  name: 3\n"), "experiment.name",
                     "exp.yaml:2:3", "must be a non-empty string");
}

TEST_CASE("malformed overrides and sweeps", "[malformed]") {
  TempDir dir;
  CHECK_CONFIG_ERROR(
      compose_text(dir, kBase, {"train.lrr=1"}), "train.lrr", "override 'train.lrr=1'",
      "no such key in the config; did you mean 'train.lr'?; to add a new key use +train.lrr=1");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+seed=1"}), "seed", "override '+seed=1'",
                     "already in the config");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"~sed"}), "sed", "override '~sed'",
                     "cannot delete: no such key in the config; did you mean 'seed'?");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed.x=1"}), "seed", "override 'seed.x=1'",
                     "not a map, so it has no key 'x'");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed"}), "", "override 'seed'", "missing '='");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"a..b=1"}), "", "override 'a..b=1'",
                     "bad key 'a..b'");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"=1"}), "", "override '=1'", "bad key ''");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=1,,2"}), "seed", "override 'seed=1,,2'",
                     "empty value in sweep");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=1,"}), "seed", "override 'seed=1,'",
                     "empty value in sweep");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a=[1,2"}), "a", "override '+a=[1,2'",
                     "missing ']'");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a=1]"}), "a", "override '+a=1]'",
                     "unbalanced ']'");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a='x"}), "a", "override '+a='x'",
                     "unterminated ' quote");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a='x'y"}), "a", "override '+a='x'y'",
                     "text after the closing quote");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a={b: [}"}), "a", "override '+a={b: [}'",
                     "bad value");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=glob(*)"}), "seed", "override 'seed=glob(*)'",
                     "unknown sweep function 'glob'");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=range(0,5,0)"}), "seed",
                     "override 'seed=range(0,5,0)'", "step must not be 0");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=range(a,3)"}), "seed",
                     "override 'seed=range(a,3)'", "'a' is not a number");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=range(5,1)"}), "seed",
                     "override 'seed=range(5,1)'", "is empty");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=range(1,2,3,4)"}), "seed",
                     "override 'seed=range(1,2,3,4)'", "expected range(stop)");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"~seed=1,2"}), "seed", "override '~seed=1,2'",
                     "cannot sweep a deletion");
}

TEST_CASE("malformed matrix blocks", "[malformed]") {
  TempDir dir;
  CHECK_CONFIG_ERROR(compose_text(dir, kBase + "matrix: [1, 2]\n"), "matrix", "exp.yaml:5:1",
                     "must be a map");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase + "matrix:\n  seed: []\n"), "matrix.seed",
                     "exp.yaml:6:3", "empty list");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase + "matrix:\n  seed: \"1,,2\"\n"), "matrix.seed",
                     "exp.yaml:6:3", "bad sweep: empty value");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase + "matrix:\n  seed: {a: 1}\n"), "matrix.seed",
                     "exp.yaml:6:3", "must be a list of values");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase + "matrix:\n  train.lrr: [1, 2]\n"), "train.lrr",
                     "exp.yaml:6:3", "did you mean 'train.lr'?");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase + "matrix:\n  model: [tiny, huge]\n"), "model",
                     "exp.yaml:6:3", "no option 'huge' in config group 'model'");
}

TEST_CASE("malformed interpolations", "[malformed]") {
  TempDir dir;
  ::unsetenv("ATTNLAB_SURELY_UNSET");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: ${b.c}\nb:\n  d: 1\n"), "a", "exp.yaml:1:1",
                     "interpolation '${b.c}' refers to 'b.c', which does not exist");
  CHECK_CONFIG_ERROR(compose_text(dir, "b:\n  dd: 1\n  x: ${.d}\n"), "b.x", "exp.yaml:3:3",
                     "refers to 'b.d', which does not exist; did you mean 'b.dd'?");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: ${b}\nb: ${c}\nc: x${a}\n"), "a", "exp.yaml:1:1",
                     "interpolation cycle: a -> b -> c -> a");
  CHECK_CONFIG_ERROR(compose_text(dir, "m:\n  a: ${m}\n"), "m.a", "exp.yaml:2:3",
                     "interpolation cycle");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: 1\nb: ${a\n"), "b", "exp.yaml:2:1",
                     "unterminated interpolation");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: ${}\n"), "a", "exp.yaml:1:1", "empty interpolation");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: ${env:ATTNLAB_SURELY_UNSET}\n"), "a", "exp.yaml:1:1",
                     "environment variable ATTNLAB_SURELY_UNSET is not set");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: ${oc.decode:x}\n"), "a", "exp.yaml:1:1",
                     "unknown resolver 'oc.decode'");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: ${...x}\n"), "a", "exp.yaml:1:1",
                     "goes above the top of the config");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase + "tag: ${train.lrr}\n"), "tag", "exp.yaml:5:1",
                     "did you mean 'train.lr'?");
  // A bad interpolation given on the command line points at the override.
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+run=${nope}"}), "run", "override '+run=${nope}'",
                     "refers to 'nope'");
}
