// build_run_specs and check_runnable: every problem that used to surface only once a cell
// trained is rejected before any run exists, as a ConfigError naming the key and where it was
// set (file:line:column or the override); parameter and FLOP counts match the built model.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "attnlab/attention_variant.h"
#include "attnlab/config/identity.h"
#include "attnlab/device/device.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/spec/build_model.h"
#include "attnlab/spec/run_spec.h"
#include "../common/tiny_experiment.h"

using namespace attnlab;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<plugin::PluginRegistry> plugins() { return test::built_plugins(); }

// An experiment file in a fresh folder: the smoke defaults plus `body` (after _self_).
fs::path experiment_file(const std::string& name, const std::string& body) {
  return test::write_experiment({"attnlab_spec_test", name, "fineweb_sample", "dense", 0, body});
}

std::vector<spec::RunSpec> specs_of(const fs::path& file, std::vector<std::string> overrides = {}) {
  return test::build_specs(file, std::move(overrides));
}

// The ConfigError that building (and checking) `file` with `overrides` raises.
config::ConfigError error_of(const fs::path& file, std::vector<std::string> overrides = {}) {
  try {
    spec::check_runnable(specs_of(file, std::move(overrides)));
  } catch (const config::ConfigError& e) {
    return e;
  }
  FAIL("no ConfigError for " << file);
  throw;
}

}  // namespace

TEST_CASE("model shape errors name the file, line and column of the key", "[spec][checks]") {
  // line 8 is the `model:` block's first key (7 lines of defaults and seed before it).
  const auto kv = error_of(experiment_file("kv", "model:\n  n_kv_head: 3\n"));
  CHECK(kv.key() == "model.n_kv_head");
  CHECK(std::string(kv.what()).find("kv.yaml:9:") != std::string::npos);
  const auto hd = error_of(experiment_file("hd", "model:\n  head_dim: 33\n"));
  CHECK(hd.key() == "model.head_dim");
  CHECK(std::string(hd.what()).find("hd.yaml:9:") != std::string::npos);
}

TEST_CASE("a model vocabulary smaller than the data's is rejected", "[spec][checks]") {
  const auto e = error_of(experiment_file("vocab", ""), {"model.vocab_size=1000"});
  CHECK(e.key() == "model.vocab_size");
  CHECK(std::string(e.what()).find("override 'model.vocab_size=1000'") != std::string::npos);
  CHECK(e.message().find("50257") != std::string::npos);
}

TEST_CASE("cuda on a CPU build is rejected where the device was set", "[spec][checks]") {
  const auto e = error_of(experiment_file("gpu", ""), {"train=default"});
  CHECK(e.key() == "train.device");
  CHECK(std::string(e.what()).find("train/default.yaml:") != std::string::npos);
  CHECK(e.message().find("needs a CUDA build") != std::string::npos);
}

TEST_CASE("a train.device that is not a device is rejected at its origin", "[spec][checks]") {
  for (const std::string bad : {"gpu", "cuda:x", "cuda:-1", "CPU"}) {
    INFO(bad);
    const auto e = error_of(experiment_file("device", ""), {"train.device=" + bad});
    CHECK(e.key() == "train.device");
    CHECK(std::string(e.what()).find("override 'train.device=" + bad + "'") != std::string::npos);
    CHECK(e.message().find("cuda:N") != std::string::npos);
  }
  if (device::cuda_build()) return;
  const auto e = error_of(experiment_file("device", ""), {"train.device=cuda:3"});
  CHECK(e.message().find("needs a CUDA build") != std::string::npos);
}

TEST_CASE("bf16 gradient all-reduce on the CPU (Gloo) is rejected at its origin", "[spec][checks]") {
  const auto e = error_of(experiment_file("reduce", ""), {"train.grad_reduce_dtype=bf16"});
  CHECK(e.key() == "train.grad_reduce_dtype");
  CHECK(e.message().find("needs NCCL") != std::string::npos);
}

TEST_CASE("bf16 on the CPU is a runnable spec (autocast)", "[spec][checks]") {
  const auto specs = specs_of(experiment_file("bf16", ""), {"train.dtype=bf16"});
  REQUIRE(specs.size() == 1);
  CHECK_NOTHROW(spec::check_runnable(specs));
  CHECK(specs.front().train.dtype == "bf16");
}

TEST_CASE("data problems are found before training", "[spec][checks]") {
  const auto file = experiment_file("data", "");
  SECTION("no training files") {
    const auto e = error_of(file, {"data.train_files=[]"});
    CHECK(e.key() == "data.train_files");
  }
  SECTION("a missing file") {
    const auto e = error_of(file, {"data.train_files=[/nonexistent/attnlab/x.bin]"});
    CHECK(e.key() == "data.train_files");
    CHECK(std::string(e.what()).find("/nonexistent/attnlab/x.bin") != std::string::npos);
  }
  SECTION("a file that is not a shard") {
    const auto bad = fs::temp_directory_path() / "attnlab_spec_test" / "not_a_shard.bin";
    std::ofstream(bad) << "this is text, not an llm.c shard header";
    const auto e = error_of(file, {"data.train_files=[" + bad.string() + "]"});
    CHECK(e.key() == "data.train_files");
  }
  SECTION("a sequence longer than the data") {
    const auto e = error_of(file, {"train.seq_len=900000"});
    CHECK(e.key() == "train.seq_len");
    CHECK(std::string(e.what()).find("override 'train.seq_len=900000'") != std::string::npos);
    CHECK(e.message().find("900001") != std::string::npos);  // the window it cannot fill
  }
  SECTION("more validation tokens than the data holds") {
    const auto e = error_of(file, {"data.val_tokens=5000000"});
    CHECK(e.key() == "data.val_tokens");
    CHECK(std::string(e.what()).find("override 'data.val_tokens=5000000'") != std::string::npos);
  }
}

TEST_CASE("plugin options are checked before anything runs", "[spec][checks]") {
  const auto e = error_of(experiment_file("opt", ""), {"attention=gated_window",
                                                       "attention.options.window=-3"});
  CHECK(e.key() == "attention.options.window");
  CHECK(std::string(e.what()).find("override 'attention.options.window=-3'") != std::string::npos);
}

TEST_CASE("an unsafe experiment name is rejected before anything is written", "[spec][checks]") {
  for (const std::string bad : {"../../x", "/tmp/x", "a/b"}) {
    const auto e = error_of(experiment_file("name", ""), {"experiment.name=" + bad});
    CHECK(e.key() == "experiment.name");
    CHECK(e.message().find("use only") != std::string::npos);
  }
  const auto stem = error_of(experiment_file("my exp", ""));  // the name defaults to the stem
  CHECK(stem.key() == "experiment.name");
  CHECK(std::string(stem.what()).find("my exp.yaml") != std::string::npos);
  CHECK(stem.message().find("set experiment.name=NAME") != std::string::npos);
}

TEST_CASE("parameter and FLOP counts match the model that is built", "[spec][counts]") {
  std::mt19937 rng(std::random_device{}());
  const int T = 64 + 32 * static_cast<int>(rng() % 8);
  const auto specs = specs_of(experiment_file("counts", ""),
                              {"attention=gated_window", "train.seq_len=" + std::to_string(T)});
  REQUIRE(specs.size() == 1);
  const auto& s = specs.front();
  auto model = spec::build_model(s, *plugins());
  int64_t numel = 0;
  for (const auto& p : model->parameters()) numel += p.numel();
  CHECK(s.parameter_count == numel);
  // The decoder's own blocks count the attention FLOPs: another path than the spec's.
  CHECK(s.flops_per_token == Approx(s.model.dense_flops_per_token() + model->attention_flops(T) / T));
  CHECK(s.total_flops(8) == Approx(s.flops_per_token * s.train.batch_size * T *
                                   s.train.grad_accum * 8 * s.train.steps));
}

TEST_CASE("every smoke cell builds and passes the checks", "[spec]") {
  const auto specs = specs_of(fs::path(ATTNLAB_SOURCE_DIR) / "experiments" / "smoke.yaml");
  CHECK(specs.size() == 5);
  CHECK_NOTHROW(spec::check_runnable(specs));
  CHECK(specs.front().run_name == "attention=dense,seed=0");
}

TEST_CASE("train.flop_budget chooses the steps whose FLOPs come nearest the budget",
          "[spec][budget]") {
  std::mt19937 rng(std::random_device{}());
  const double budget = std::uniform_real_distribution<double>(2e11, 9e11)(rng);
  const std::string b = "train.flop_budget=" + std::to_string(budget);
  const auto file = experiment_file("budget", "");
  for (const std::string variant : {"dense", "fixed_window"}) {
    for (const int world : {1, 3}) {
      INFO(variant << ", " << world << " ranks, budget " << budget);
      const auto specs = spec::build_run_specs(
          {file.string(), {"attention=" + variant, "train.steps=0", b},
           {fs::path(ATTNLAB_SOURCE_DIR) / "experiments"}, false, world},
          plugins());
      REQUIRE(specs.size() == 1);
      const auto& s = specs.front();
      // Independently: FLOPs of one step at `world` ranks, from the spec's own counts.
      const double per_step = s.flops_per_token * s.train.batch_size * s.train.seq_len *
                              s.train.grad_accum * world;
      CHECK(s.budget_steps_exact == Approx(budget / per_step).epsilon(1e-12));
      CHECK(std::fabs(s.total_flops(world) - budget) <= per_step / 2 * (1 + 1e-12));
      CHECK(s.train.steps >= 1);
      CHECK(s.cell.tree["train"]["steps"].get<int64_t>() == s.train.steps);  // stored as run
    }
  }
  // The windowed variant's attention is cheaper, so the same budget buys it more steps.
  const auto dense = specs_of(file, {"train.steps=0", b}).front();
  const auto window = specs_of(file, {"attention=fixed_window", "train.steps=0", b}).front();
  CHECK(window.flops_per_token < dense.flops_per_token);
  CHECK(window.train.steps >= dense.train.steps);
  CHECK(dense.fingerprint != specs_of(file, {"train.steps=0", "train.flop_budget=1e12"}).front().fingerprint);
}

TEST_CASE("train.flop_budget and train.steps must agree", "[spec][budget][checks]") {
  const auto file = experiment_file("budget_errors", "");
  const auto both = error_of(file, {"train.flop_budget=1e12", "train.steps=7"});
  CHECK(both.key() == "train.steps");
  CHECK(both.message().find("set train.steps=0") != std::string::npos);
  const auto neither = error_of(file, {"train.steps=0"});
  CHECK(neither.key() == "train.steps");
  CHECK(neither.message().find("train.flop_budget") != std::string::npos);
  const auto tiny = error_of(file, {"train.steps=0", "train.flop_budget=1000"});
  CHECK(tiny.key() == "train.flop_budget");
  CHECK(tiny.message().find("raise the budget") != std::string::npos);
  CHECK(std::string(tiny.what()).find("train.flop_budget=1000") != std::string::npos);  // origin
}

TEST_CASE("train.steps=0 without a budget needs train.init_from", "[spec][budget][checks]") {
  const auto file = experiment_file("no_step", "");
  const auto refused = error_of(file, {"train.steps=0"});
  CHECK(refused.key() == "train.steps");
  CHECK(refused.message().find("needs train.init_from") != std::string::npos);
  const auto spec = specs_of(file, {"train.steps=0", "train.init_from=/some/run/step_1.ckpt"});
  REQUIRE(spec.size() == 1);
  CHECK(spec.front().train.steps == 0);
  CHECK(spec.front().total_flops(1) == 0.0);
  CHECK_NOTHROW(spec::check_runnable(spec));
}

TEST_CASE("a config of today's defaults has the identity a run recorded before the new keys had",
          "[spec][identity]") {
  // Each key of neutral_defaults, at its schema default, must drop out of the identity.
  const auto spec = specs_of(experiment_file("neutral", "")).front();
  for (const auto& [key, neutral] : config::neutral_defaults()) {
    INFO(key << " (neutral " << neutral.dump() << ")");
    const auto dot = key.find('.');
    const auto& section = spec.identity.at(key.substr(0, dot));
    CHECK_FALSE(section.contains(key.substr(dot + 1)));
  }
}
