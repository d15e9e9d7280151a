// Plain Hugging Face Qwen3 folders (no attnlab section): config.json read as a dense model of
// its sizes with transformers' defaults, refused naming the key where our decoder cannot
// express it; weights in bf16 over two shards listed by model.safetensors.index.json import
// upcast; a tensor our model lacks, one missing, or of another shape is refused naming the
// file and the tensor.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "attnlab/interop/export_model.h"
#include "attnlab/interop/hf_config.h"
#include "attnlab/interop/import_model.h"
#include "interop_fixture.h"

using namespace attnlab;
using namespace attnlab::test;
using Catch::Contains;
using nlohmann::json;

namespace {

// A Qwen3 config.json as transformers writes it, of small_tree()'s sizes, untied.
json qwen3_config() {
  return {{"architectures", {"Qwen3ForCausalLM"}},
          {"model_type", "qwen3"},
          {"vocab_size", 61},
          {"hidden_size", 24},
          {"intermediate_size", 40},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"head_dim", 6},
          {"rope_theta", 5000.0},
          {"rms_norm_eps", 1e-5},
          {"tie_word_embeddings", false},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"use_sliding_window", false},
          {"sliding_window", nullptr},
          {"rope_scaling", nullptr},
          {"torch_dtype", "bfloat16"},
          {"max_position_embeddings", 40960}};
}

std::string refusal(const json& config) {
  try {
    interop::tree_from_hf_config(config, "q/config.json");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

// dir/config.json and the model's tensors in bf16 over two shards with their index, plus
// `extra` tensors, minus the one named `drop`.
void write_qwen3_folder(const std::filesystem::path& dir, const torch::nn::Module& model,
                        const interop::NamedTensors& extra, const std::string& drop = "") {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << qwen3_config().dump();
  interop::NamedTensors shards[2];
  json weight_map = json::object();
  auto tensors = interop::hf_tensors(model, torch::kBFloat16);
  tensors.insert(tensors.end(), extra.begin(), extra.end());
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].first == drop) continue;
    shards[i % 2].push_back(tensors[i]);
    weight_map[tensors[i].first] =
        "model-0000" + std::to_string(i % 2 + 1) + "-of-00002.safetensors";
  }
  for (int s = 0; s < 2; ++s) {
    interop::write_safetensors(
        dir / ("model-0000" + std::to_string(s + 1) + "-of-00002.safetensors"), shards[s],
        {{"format", "pt"}});
  }
  std::ofstream(dir / "model.safetensors.index.json") << json{{"weight_map", weight_map}}.dump();
}

std::string import_error(const std::filesystem::path& dir) {
  try {
    interop::import_safetensors(dir, *built_plugins());
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("a plain Qwen3 config.json is a dense model of its sizes", "[interop][hf_config]") {
  const auto tree = interop::tree_from_hf_config(qwen3_config(), "q/config.json");
  auto expected = small_tree("dense", false)["model"];
  expected["name"] = "hf_qwen3";
  CHECK(tree["model"] == expected);
  CHECK(tree["attention"] == json{{"variant", "dense"}, {"options", json::object()}});

  auto minimal = qwen3_config();  // transformers' defaults where keys are absent
  for (const char* key : {"num_key_value_heads", "head_dim", "tie_word_embeddings", "rope_theta"}) {
    minimal.erase(key);
  }
  const auto defaults = interop::tree_from_hf_config(minimal, "q/config.json")["model"];
  CHECK(defaults["n_kv_head"] == 4);
  CHECK(defaults["head_dim"] == 6);
  CHECK(defaults["tie_embeddings"] == false);
  CHECK(defaults["rope_theta"] == 10000.0);
}

TEST_CASE("Qwen3 configs our decoder cannot express are refused naming the key",
          "[interop][hf_config]") {
  const auto with = [](const std::string& key, const json& value) {
    auto c = qwen3_config();
    c[key] = value;
    return c;
  };
  CHECK_THAT(refusal(with("attention_bias", true)),
             Contains("q/config.json: \"attention_bias\" is true"));
  CHECK_THAT(refusal(with("use_sliding_window", true)), Contains("\"use_sliding_window\" is true"));
  CHECK_THAT(refusal(with("rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}})),
             Contains("\"rope_scaling\" is set"));
  CHECK_THAT(refusal(with("model_type", "llama")), Contains("\"model_type\" is \"llama\""));
  CHECK_THAT(refusal(with("hidden_act", "gelu")), Contains("\"hidden_act\" is \"gelu\""));
  CHECK_THAT(refusal(with("hidden_size", "24")), Contains("\"hidden_size\" has the wrong type"));
  auto no_vocab = qwen3_config();
  no_vocab.erase("vocab_size");
  CHECK_THAT(refusal(no_vocab), Contains("\"vocab_size\" is missing"));
}

TEST_CASE(
    "a sharded bf16 Qwen3 folder imports upcast; stray, missing or misshapen tensors are "
    "refused",
    "[interop][hf_config]") {
  const auto tree = small_tree("dense", false);
  auto source = random_decoder(tree, 5);
  const auto inv_freq =
      interop::NamedTensors{{"model.layers.0.self_attn.rotary_emb.inv_freq", torch::rand({3})}};
  const auto dir = fresh_dir("qwen3_sharded");
  write_qwen3_folder(dir, *source, inv_freq);
  const auto imported = interop::import_safetensors(dir, *built_plugins());
  CHECK(imported.tree["attention"]["variant"] == "dense");
  auto got = imported.model->named_parameters();
  for (const auto& p : source->named_parameters()) {
    INFO(p.key());
    CHECK(torch::equal(got[p.key()], p.value().to(torch::kBFloat16).to(torch::kFloat32)));
  }

  const auto bias_dir = fresh_dir("qwen3_bias");
  write_qwen3_folder(bias_dir, *source,
                     {{"model.layers.1.self_attn.q_proj.bias", torch::rand({24})}});
  CHECK_THAT(
      import_error(bias_dir),
      Contains("tensor 'model.layers.1.self_attn.q_proj.bias': the model has no such tensor"));
  const auto missing_dir = fresh_dir("qwen3_missing");
  write_qwen3_folder(missing_dir, *source, {}, "model.layers.1.mlp.up_proj.weight");
  CHECK_THAT(import_error(missing_dir),
             Contains("tensor 'model.layers.1.mlp.up_proj.weight' (our blocks.1.mlp.up.weight) "
                      "is missing"));
  auto shape_config = qwen3_config();
  shape_config["intermediate_size"] = 48;
  std::ofstream(missing_dir / "config.json") << shape_config.dump();
  const auto shape_error = import_error(missing_dir);  // the first MLP weight read
  CHECK_THAT(shape_error, Contains("_proj.weight': shape ["));
  CHECK_THAT(shape_error, Contains("], the model's blocks.") && Contains("48"));
}
