// Run and arm identities: bookkeeping keys never count, seeds separate runs but not arms,
// a data file is the same file however its path is spelled.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "attnlab/config/identity.h"

using namespace attnlab;
using nlohmann::json;

namespace {

json random_tree(std::mt19937& rng, const std::string& train_file) {
  std::uniform_int_distribution<int> small(1, 1000);
  return {{"seed", small(rng)},
          {"model", {{"d_model", 32 * small(rng)}, {"n_layer", small(rng)}}},
          {"attention", {{"variant", "gated_window"}, {"options", {{"window", small(rng)}}}}},
          {"data", {{"train_files", {train_file}}, {"val_files", json::array()}, {"order_seed", -1}}},
          {"train", {{"lr", small(rng) * 1e-5}, {"log_every", small(rng)}, {"threads", small(rng)}}},
          {"experiment", {{"name", "x"}}}};
}

std::filesystem::path temp_file() {
  const auto dir = std::filesystem::temp_directory_path() / "attnlab_identity_test";
  std::filesystem::create_directories(dir / "sub");
  const auto file = dir / "shard.bin";
  std::ofstream(file) << "tokens";
  return file;
}

}  // namespace

TEST_CASE("bookkeeping keys and the experiment section never change an identity", "[spec][identity]") {
  std::mt19937 rng(std::random_device{}());
  const auto a = random_tree(rng, "x.bin");
  auto b = a;
  b["train"]["log_every"] = a["train"]["log_every"].get<int>() + 7;
  b["train"]["threads"] = a["train"]["threads"].get<int>() + 1;
  b["experiment"]["name"] = "other";
  CHECK(config::results_identity(a) == config::results_identity(b));
  b["train"]["lr"] = a["train"]["lr"].get<double>() * 2;
  CHECK(config::results_identity(a) != config::results_identity(b));
}

TEST_CASE("seeds separate runs but not arms", "[spec][identity]") {
  std::mt19937 rng(std::random_device{}());
  const auto a = random_tree(rng, "x.bin");
  auto b = a;
  b["seed"] = a["seed"].get<int>() + 1;
  CHECK(config::results_identity(a) != config::results_identity(b));
  CHECK(config::arm_identity(a) == config::arm_identity(b));
  b["attention"]["options"]["window"] = a["attention"]["options"]["window"].get<int>() + 1;
  CHECK(config::arm_identity(a) != config::arm_identity(b));
}

TEST_CASE("order_seed -1, absent or equal to the seed is the same data order", "[spec][identity]") {
  std::mt19937 rng(std::random_device{}());
  const auto follows = random_tree(rng, "x.bin");
  auto absent = follows, explicit_same = follows, fixed = follows;
  absent["data"].erase("order_seed");
  explicit_same["data"]["order_seed"] = follows["seed"];
  fixed["data"]["order_seed"] = follows["seed"].get<int>() + 1;
  CHECK(config::results_identity(follows) == config::results_identity(absent));
  CHECK(config::results_identity(follows) == config::results_identity(explicit_same));
  CHECK(config::results_identity(follows) != config::results_identity(fixed));
}

TEST_CASE("one data file spelled two ways is one identity", "[spec][identity]") {
  std::mt19937 rng(std::random_device{}());
  const auto file = temp_file();
  const auto spelled = (file.parent_path() / "sub" / ".." / file.filename()).string();
  auto a = random_tree(rng, file.string());
  auto b = a;
  b["data"]["train_files"] = {spelled};
  CHECK(config::results_identity(a) == config::results_identity(b));
  b["data"]["train_files"] = {(file.parent_path() / "other.bin").string()};
  CHECK(config::results_identity(a) != config::results_identity(b));
}

TEST_CASE("key_differences lists exactly the differing leaves", "[spec][identity]") {
  const json a = {{"x", {{"y", 1}, {"z", 2}}}, {"list", {1, 2}}, {"only_a", true}};
  const json b = {{"x", {{"y", 1}, {"z", 3}}}, {"list", {1, 2, 3}}, {"only_b", "v"}};
  const auto d = config::key_differences(a, b);
  REQUIRE(d.size() == 4);
  CHECK(d[0].key == "list");
  CHECK(d[1].key == "only_a");
  CHECK(d[1].b.is_null());
  CHECK(d[2].key == "only_b");
  CHECK(d[2].a.is_null());
  CHECK(d[3].key == "x.z");
  CHECK(d[3].a == 2);
  CHECK(d[3].b == 3);
}

TEST_CASE("keys added later count only when they leave their neutral value", "[spec][identity]") {
  std::mt19937 rng(std::random_device{}());
  const auto before = random_tree(rng, "x.bin");  // a run recorded before the keys existed
  auto now = before;
  now["model"]["sigma_reparam"] = false;
  now["train"]["aux_loss_weight"] = 0.01;
  now["train"]["param_groups"] = json::object();
  now["train"]["flop_budget"] = 0.0;
  now["train"]["init_from"] = "";
  now["train"]["distill_gate"] = false;
  now["data"]["kind"] = "shards";
  now["data"]["mqar"] = {{"pairs", 8}, {"queries", 8}, {"gaps", {16, 64, 256}}, {"seed", 0},
                         {"train_sequences", 20000}, {"val_sequences", 256}};
  CHECK(config::results_identity(now) == config::results_identity(before));
  for (const auto& [key, changed] :
       std::vector<std::pair<std::string, json>>{{"model.sigma_reparam", true},
                                                 {"train.aux_loss_weight", 0.1},
                                                 {"train.param_groups", {{"gate", {{"lr_scale", 2}}}}},
                                                 {"train.flop_budget", 1e15},
                                                 {"train.init_from", "runs/x/checkpoints"},
                                                 {"train.distill_gate", true},
                                                 {"data.kind", "mqar"},
                                                 {"data.mqar", {{"pairs", 4}}}}) {
    INFO(key);
    auto other = now;
    const auto dot = key.find('.');
    other[key.substr(0, dot)][key.substr(dot + 1)] = changed;
    CHECK(config::results_identity(other) != config::results_identity(before));
    CHECK(config::key_differences(config::results_identity(other),
                                  config::results_identity(before)).front().key.rfind(key, 0) == 0);
  }
}

TEST_CASE("the eval section never changes an identity", "[spec][identity]") {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> small(1, 1000);
  const auto plain = random_tree(rng, "x.bin");
  auto a = plain, b = plain;
  a["eval"] = {{"tasks", {"val_loss"}}, {"batches", small(rng)}};
  b["eval"] = {{"tasks", {"val_loss", "position_loss", "passkey"}},
               {"batches", small(rng)},
               {"passkey_files", {"filler.jsonl"}}};
  CHECK(config::results_identity(a) == config::results_identity(plain));
  CHECK(config::results_identity(a) == config::results_identity(b));
  CHECK(config::arm_identity(a) == config::arm_identity(b));
  CHECK(config::key_differences(config::results_identity(a), config::results_identity(b)).empty());
}
