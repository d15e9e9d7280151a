// Export -> import (attnlab/interop/export_model.h, import_model.h): for dense, a plugin with
// its own parameters (gated_window) and a sigmaReparam model (buffers), every tensor comes back
// bit-exact from an fp32 export and as its bf16 rounding from a bf16 one, with the same model
// and attention config and the same logits; the imported checkpoint loads through
// train.init_from (load_model_weights); a dense export holds exactly the Qwen3 tensor names.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <set>

#include "attnlab/interop/export_model.h"
#include "attnlab/interop/import_model.h"
#include "attnlab/train/checkpoint.h"
#include "interop_fixture.h"

using namespace attnlab;
using namespace attnlab::test;

namespace {

// Every parameter and buffer of `b` equals `a`'s, after `round` (identity or bf16 rounding).
void check_same_tensors(const torch::nn::Module& a, const torch::nn::Module& b,
                        torch::ScalarType round) {
  auto theirs = b.named_parameters();
  for (const auto& p : a.named_parameters()) {
    INFO(p.key());
    REQUIRE(theirs.contains(p.key()));
    CHECK(torch::equal(theirs[p.key()], p.value().to(round).to(torch::kFloat32)));
  }
  auto their_buffers = b.named_buffers();
  for (const auto& x : a.named_buffers()) {
    INFO(x.key());
    CHECK(torch::equal(their_buffers[x.key()], x.value().to(round).to(x.value().scalar_type())));
  }
  CHECK(a.named_parameters().size() == theirs.size());
}

}  // namespace

TEST_CASE("export then import gives back every tensor, the config and the logits",
          "[interop][round_trip]") {
  struct Case {
    std::string plugin;
    bool tied, sigma_reparam;
  };
  for (const auto& c : {Case{"dense", true, false}, Case{"gated_window", false, false},
                        Case{"dense", true, true}}) {
    for (const std::string dtype : {"fp32", "bf16"}) {
      DYNAMIC_SECTION(c.plugin << (c.sigma_reparam ? "+sigma_reparam " : " ") << dtype) {
        const auto tree = small_tree(c.plugin, c.tied, c.sigma_reparam);
        auto original = random_decoder(tree, 11);
        const auto dir = fresh_dir("round_trip_" + c.plugin + "_" + dtype);
        interop::export_safetensors(*original, tree, dir, dtype);
        auto imported = interop::import_safetensors(dir, *built_plugins());
        CHECK(imported.tree["model"] == tree["model"]);
        CHECK(imported.tree["attention"] == tree["attention"]);
        const auto round = dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
        check_same_tensors(*original, *imported.model, round);
        if (dtype == "fp32") {
          torch::NoGradGuard no_grad;
          const auto idx_BT = torch::randint(61, {2, 9}, torch::kInt64);
          CHECK(torch::equal(original->forward(idx_BT), imported.model->forward(idx_BT)));
        }
        // the checkpoint `attnlab import` writes, read as train.init_from reads it
        const auto ckpt = dir / "imported.ckpt";
        interop::write_imported_checkpoint(imported, ckpt);
        auto fresh = random_decoder(tree, 99);
        train::load_model_weights(ckpt, *fresh);
        check_same_tensors(*original, *fresh, round);
      }
    }
  }
}

TEST_CASE("a dense export holds exactly the Qwen3 tensor names", "[interop][names]") {
  for (const bool tied : {true, false}) {
    const auto tree = small_tree("dense", tied);
    const auto names = interop::hf_tensors(*random_decoder(tree, 3), torch::kFloat32);
    std::set<std::string> got, want = {"model.embed_tokens.weight", "model.norm.weight"};
    if (!tied) want.insert("lm_head.weight");
    for (const std::string layer : {"0", "1"}) {
      const auto l = "model.layers." + layer + ".";
      for (const std::string n : {"q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm"}) {
        want.insert(l + "self_attn." + n + ".weight");
      }
      for (const std::string n : {"gate_proj", "up_proj", "down_proj"}) {
        want.insert(l + "mlp." + n + ".weight");
      }
      want.insert(l + "input_layernorm.weight");
      want.insert(l + "post_attention_layernorm.weight");
    }
    for (const auto& [name, tensor] : names) got.insert(name);
    CHECK(got == want);
  }
}

TEST_CASE("a gated plugin's own tensors go under self_attn.attnlab", "[interop][names]") {
  const auto names =
      interop::hf_tensors(*random_decoder(small_tree("gated_window"), 3), torch::kFloat32);
  int extra = 0;
  for (const auto& [name, tensor] : names) {
    if (name.find(".self_attn.attnlab.variant.") != std::string::npos) ++extra;
  }
  CHECK(extra >= 2);  // at least one per layer
}
