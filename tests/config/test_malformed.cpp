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
  CHECK_CONFIG_ERROR(compose_text(dir, "a: 1\nb: \xc0\xaf\n"), "", "exp.yaml:2:4",
                     "not UTF-8 text");  // an overlong '/'
  CHECK_CONFIG_ERROR(compose_text(dir, "- a\n- b\n"), "", "exp.yaml:1:1",
                     "the top level must be a mapping (key: value), not a list");
  CHECK_CONFIG_ERROR(compose_text(dir, "just text\n"), "", "exp.yaml:1:1", "not a single value");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: 1\n---\nb: 2\n"), "", "exp.yaml:3:1",
                     "several YAML documents");
  // A ',' where a document's value starts (yaml-cpp 0.7's LoadAll would loop without end).
  for (const auto& [yaml, where] : std::vector<std::pair<std::string, std::string>>{
           {",", "exp.yaml:1:1"},
           {",train:\n  lr: 1e-3\n", "exp.yaml:1:1"},
           {"# comment\n,\n", "exp.yaml:2:1"},
           {"--- ,\n", "exp.yaml:1:5"},
           {"&anchor ,\n", "exp.yaml:1:9"},
           {"{a: 1}\n,\n", "exp.yaml:2:1"},
           {"a: 1\n...\n,\n", "exp.yaml:3:1"}}) {
    CHECK_CONFIG_ERROR(compose_text(dir, yaml), "", where, "stray ','");
  }
  CHECK_CONFIG_ERROR(compose_text(dir, "a: 1\n,\n"), "", "exp.yaml:2:1", "YAML syntax error");
  // Commas yaml-cpp reads fine still load.
  const auto commas = compose_text(dir, "a: ',x'\nb: x, y\nc: [1, 2]\nd: |\n  ,z\ne: p\n  ,q\n");
  CHECK(commas.at(0).tree["a"] == ",x");
  CHECK(commas.at(0).tree["b"] == "x, y");
  CHECK(commas.at(0).tree["c"] == nlohmann::json::array({1, 2}));
  CHECK(commas.at(0).tree["d"] == ",z\n");
  CHECK(commas.at(0).tree["e"] == "p ,q");
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

namespace {

// `levels` anchors, each a list of `fan` aliases of the one before: fan^levels scalars.
std::string alias_bomb(int levels, int fan, const std::string& leaf) {
  std::string yaml = "l0: &l0 " + leaf + "\n";
  for (int i = 1; i <= levels; ++i) {
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < fan; ++k) yaml += (k ? ", *l" : "*l") + std::to_string(i - 1);
    yaml += "]\n";
  }
  return yaml;
}

// Asserts that `expr` throws a ConfigError at `where_prefix` whose message has `gist`.
template <typename F>
void check_error_at(F&& expr, const std::string& where_prefix, const std::string& gist) {
  try {
    expr();
    FAIL_CHECK("expected a ConfigError");
  } catch (const ConfigError& e) {
    INFO(e.what());
    CHECK_THAT(e.origin().str(), Catch::StartsWith(where_prefix));
    CHECK_THAT(e.message(), Catch::Contains(gist));
  }
}

}  // namespace

TEST_CASE("aliases and interpolations cannot expand a config without bound", "[malformed]") {
  TempDir dir;
  const std::string file = (dir.path() / "exp.yaml").string();
  // Billion laughs: 10^9 values from a few hundred bytes; stops at the value limit, in the file.
  const int fan = static_cast<int>(random_int(8, 12));
  const std::string bomb = alias_bomb(9, fan, "x");
  REQUIRE(bomb.size() < 1024);
  check_error_at([&] { compose_text(dir, bomb); }, file + ":",
                 "the YAML expands past 1000000 values or 64 MiB of keys and strings");
  // Few values but long strings: stops at the text limit.
  check_error_at([&] { compose_text(dir, alias_bomb(6, fan, std::string(1000, 'y'))); }, file + ":",
                 "expands past");
  // An alias inside its own anchor nests without end.
  check_error_at([&] { compose_text(dir, "a: &a [1, *a]\n"); },
                 file + ":1:", "nested deeper than 512 levels");
  // The same in an override's flow value (long strings: the text limit comes first).
  std::string flow = "[&l0 " + std::string(1000, 'x');
  for (int i = 1; i <= 9; ++i) {
    flow += ", &l" + std::to_string(i) + " [";
    for (int k = 0; k < fan; ++k) flow += (k ? ", *l" : "*l") + std::to_string(i - 1);
    flow += "]";
  }
  flow += "]";
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+bomb=" + flow}), "bomb",
                     "override '+bomb=" + flow + "'", "expands past 1000000 values or 64 MiB");
  // Interpolations that copy interpolations multiply the same way, as values or as text.
  std::string copies = "i0: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
  std::string text = "s0: " + std::string(100, 'z') + "\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string ref = "${i" + std::to_string(i - 1) + "}";
    const std::string sref = "${s" + std::to_string(i - 1) + "}";
    copies += "i" + std::to_string(i) + ": [";
    text += "s" + std::to_string(i) + ": ";
    for (int k = 0; k < fan; ++k) {
      copies += (k ? ", \"" : "\"") + ref + "\"";
      text += sref;
    }
    copies += "]\n";
    text += "\n";
  }
  check_error_at([&] { compose_text(dir, copies); }, file + ":",
                 "interpolations copy more than 1000000 values or 64 MiB");
  check_error_at([&] { compose_text(dir, text); }, file + ":", "interpolations copy more than");
  // A chain of interpolations deeper than the stack should go.
  std::string chain = "c0: 1\n";
  for (int i = 1; i <= 200; ++i)
    chain += "c" + std::to_string(i) + ": ${c" + std::to_string(i - 1) + "}\n";
  check_error_at([&] { compose_text(dir, chain); }, file + ":", "more than 64 levels deep");
  // A file past the byte limit is refused before it is read (a sparse file: no disk used).
  dir.write("big.yaml", "a: 1\n");
  std::filesystem::resize_file(dir.path() / "big.yaml", (size_t{64} << 20) + 1);
  check_error_at([&] { compose(dir, "big.yaml"); }, (dir.path() / "big.yaml").string(),
                 "the file has 67108865 bytes; a config file holds at most");
}

TEST_CASE("aliases and interpolations within the limits expand", "[compose]") {
  TempDir dir;
  const int fan = static_cast<int>(random_int(2, 9));
  const auto c = compose_text(dir, alias_bomb(4, fan, "v") + "j: ${l2}\n").at(0);
  CHECK(c.tree["l4"].size() == static_cast<size_t>(fan));
  CHECK(c.tree["l4"][fan - 1][0][fan - 1][0] == "v");
  CHECK(c.tree["j"] == c.tree["l2"]);
}

TEST_CASE("control characters and broken UTF-8 in keys and strings", "[malformed]") {
  TempDir dir;
  // A random C0 control other than tab and newline, or DEL.
  const long long pick = random_int(0, 29);
  const int c = pick == 29 ? 0x7f
                : pick < 8 ? static_cast<int>(pick) + 1
                           : static_cast<int>(pick) + 3;
  char hex[8];
  std::snprintf(hex, sizeof hex, "\\x%02x", c);
  const std::string esc = hex, raw(1, static_cast<char>(c));
  INFO("control character " << esc);
  CHECK_CONFIG_ERROR(compose_text(dir, "a: \"x" + esc + "y\"\n"), "a", "exp.yaml:1:4",
                     "control character " + esc + " at byte 1 of the value; remove it");
  CHECK_CONFIG_ERROR(compose_text(dir, "m:\n  k: [ok, \"" + esc + "\"]\n"), "m.k.1",
                     "exp.yaml:2:11", "control character " + esc + " at byte 0 of the value");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: x\ay\n"), "a", "exp.yaml:1:4",
                     "control character \\x07");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: \"\\N\"\n"), "a", "exp.yaml:1:4",
                     "byte \\x85 at byte 0 of the value is not UTF-8");
  CHECK_CONFIG_ERROR(compose_text(dir, "a: \"\\u0085\"\n"), "a", "exp.yaml:1:4",
                     "control character \\u0085");
  CHECK_CONFIG_ERROR(compose_text(dir, "m:\n  \"k" + esc + "\": 1\n"), "m", "exp.yaml:2:3",
                     "control character " + esc + " at byte 1 of the key");
  CHECK_CONFIG_ERROR(compose_text(dir, "\"a\\tb\": 1\n"), "", "exp.yaml:1:1",
                     "control character \\x09 at byte 1 of the key");
  // Overrides: plain, single- and double-quoted, flow; the error echoes the override escaped.
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a=x" + raw + "y"}), "a",
                     "override '+a=x" + esc + "y'", "bad value: control character " + esc);
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a='" + raw + "'"}), "a",
                     "override '+a='" + esc + "''", "control character " + esc);
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a=\"\\u0007\""}), "a", "override '+a=\"\\u0007\"'",
                     "control character \\x07");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a=[ok, \"\\e\"]"}), "a",
                     "override '+a=[ok, \"\\e\"]'", "control character \\x1b");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a=x\xc2\x85"}), "a", "override '+a=x\\u0085'",
                     "control character \\u0085");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a=x\xffy"}), "", "override '+a=x\\xffy'",
                     "byte \\xff at byte 4 of the override is not UTF-8");
  // Messages that quote what was given never carry the raw character.
  try {
    compose_text(dir, kBase, {"+a=\"x" + raw + "\"y"});
    FAIL_CHECK("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("bad double-quoted string \"x" + esc + "\"y"));
    CHECK(std::string(e.what()).find(raw) == std::string::npos);
  }
  // Environment variables.
  ::setenv("ATTNLAB_TEST_CONTROL", ("red" + raw).c_str(), 1);
  CHECK_CONFIG_ERROR(
      compose_text(dir, "e: ${env:ATTNLAB_TEST_CONTROL}\n"), "e", "exp.yaml:1:1",
      "environment variable ATTNLAB_TEST_CONTROL: control character " + esc + " at byte 3");
  ::unsetenv("ATTNLAB_TEST_CONTROL");
  // Tab and newline are text; CRLF files load as LF files.
  const auto c1 = compose_text(dir, "a: \"x\\ty\\nz\"\nb: |\n  l1\n  l2\n", {"+c=p\tq\nr"}).at(0);
  CHECK(c1.tree["a"] == "x\ty\nz");
  CHECK(c1.tree["b"] == "l1\nl2\n");
  CHECK(c1.tree["c"] == "p\tq\nr");
  CHECK(compose_text(dir, "a: 1\r\nb: two\r\n").at(0).tree["b"] == "two");
}

TEST_CASE("an override that is not UTF-8, anywhere in it", "[malformed]") {
  TempDir dir;
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=ch\xab\xab\xabohce(1,2,3)"}), "",
                     "override 'seed=ch\\xab\\xab\\xabohce(1,2,3)'",
                     "byte \\xab at byte 7 of the override is not UTF-8");
  // A random bad sequence at a random place: a lone continuation byte, a lead byte that never
  // starts UTF-8, an overlong form, a UTF-16 surrogate, a code point past U+10FFFF.
  const std::vector<std::string> bad = {std::string(1, static_cast<char>(random_int(0x80, 0xbf))),
                                        std::string(1, static_cast<char>(random_int(0xf5, 0xff))),
                                        "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
  const std::string& bytes = bad[static_cast<size_t>(random_int(0, bad.size() - 1))];
  char hex[8];
  std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(bytes[0]));
  const std::string head = "+a=" + std::string(static_cast<size_t>(random_int(0, 6)), 'x');
  for (const char* tail : {"y", "[1] #", "'", "\"", ",z"}) {  // before parsing
    const std::string text = head + tail + bytes;
    INFO(text);
    CHECK_CONFIG_ERROR(compose_text(dir, kBase, {text}), "", "",
                       "byte " + std::string(hex) + " at byte " +
                           std::to_string(text.size() - bytes.size()) + " of the override");
  }
}

TEST_CASE("a key given twice on the command line or in the matrix block", "[malformed]") {
  TempDir dir;
  const std::string a = std::to_string(random_int(0, 999)), b = std::to_string(random_int(0, 999));
  CHECK_CONFIG_ERROR(
      compose_text(dir, kBase, {"seed=" + a, "train.lr=0.1", "seed=" + b}), "seed",
      "override 'seed=" + b + "'",
      "set twice on the command line (override 'seed=" + a + "' and override 'seed=" + b +
          "'); keep one (to run both, sweep them in one override: seed=" + a + "," + b + ")");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=0,1", "seed=range(2,4)"}), "seed",
                     "override 'seed=range(2,4)'", "sweep them in one override: seed=0,1,2,3");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"~seed", "+seed=" + a}), "seed",
                     "override '+seed=" + a + "'", "keep one (to replace a value, ++seed=VALUE");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"model=small", "++model=tiny"}), "model",
                     "override '++model=tiny'", "set twice on the command line");
  CHECK_CONFIG_ERROR(
      compose_text(dir, kBase + "matrix:\n  seed: [1, 2]\n  ++seed: [3]\n"), "seed", "exp.yaml:7:3",
      "set twice in the matrix block (" + (dir.path() / "exp.yaml").string() + ":6:3 and ");
  // One sweep, different keys, and a command line narrowing a matrix entry stay fine.
  CHECK(compose_text(dir, kBase, {"seed=" + a + "," + b, "train.lr=0.1"}).size() == 2);
  CHECK(compose_text(dir, kBase + "matrix:\n  seed: [1, 2]\n", {"seed=" + a}).size() == 1);
}

TEST_CASE("numbers beyond the float range", "[malformed]") {
  TempDir dir;
  const std::string big = "1e" + std::to_string(random_int(309, 99999));
  CHECK_CONFIG_ERROR(compose_text(dir, "a: " + big + "\n"), "a", "exp.yaml:1:4",
                     big + " is beyond the float range");
  const std::string digits = "-1" + std::string(static_cast<size_t>(random_int(309, 999)), '0');
  CHECK_CONFIG_ERROR(compose_text(dir, "a: [" + digits + "]\n"), "a.0", "exp.yaml:1:5",
                     digits + " is beyond the float range");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"+a=" + big}), "a", "override '+a=" + big + "'",
                     "bad value: " + big + " is beyond the float range");
  CHECK_CONFIG_ERROR(compose_text(dir, kBase, {"seed=range(0," + big + ")"}), "seed",
                     "override 'seed=range(0," + big + ")'", "is beyond the float range");
  ::setenv("ATTNLAB_TEST_BIG", big.c_str(), 1);
  CHECK_CONFIG_ERROR(compose_text(dir, "e: ${env:ATTNLAB_TEST_BIG}\n"), "e", "exp.yaml:1:1",
                     "environment variable ATTNLAB_TEST_BIG: " + big + " is beyond");
  ::unsetenv("ATTNLAB_TEST_BIG");
}

TEST_CASE("a directory or a device given as the experiment", "[malformed]") {
  TempDir dir;
  dir.write("exps/a.yaml", "seed: 0\n");
  dir.write("exps/b.yaml", "seed: 1\n");
  const std::string exps = (dir.path() / "exps").string();
  CHECK_CONFIG_ERROR(compose_experiment(dir.path() / "exps", {}, {}), "", exps,
                     exps + " is a directory; give an experiment file (a .yaml path such as " +
                         exps + "/a.yaml, " + exps + "/b.yaml) or an experiment name");
  ComposeOptions options;
  options.search_path = {dir.path()};
  CHECK_CONFIG_ERROR(resolve_experiment_path(exps + "/", options), "", exps + "/",
                     " is a directory; give an experiment file");
  dir.write("empty/x.txt", "");
  const std::string empty = (dir.path() / "empty").string();
  CHECK_CONFIG_ERROR(resolve_experiment_path(empty, options), "", empty,
                     empty +
                         " is a directory; give an experiment file (a .yaml path) or an "
                         "experiment name");
  CHECK_CONFIG_ERROR(compose_experiment("/dev/null", {}, {}), "", "/dev/null",
                     "not a regular file");
}
