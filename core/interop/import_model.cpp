// A Hugging Face Qwen3 folder into our decoder and an attnlab checkpoint; see import_model.h.
#include "attnlab/interop/import_model.h"

#include <torch/torch.h>

#include <fstream>
#include <map>
#include <set>

#include "attnlab/interop/hf_config.h"
#include "attnlab/interop/hf_names.h"
#include "attnlab/interop/safetensors.h"
#include "attnlab/spec/build_model.h"
#include "attnlab/train/checkpoint.h"
#include "attnlab/util/sha256.h"

namespace attnlab::interop {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::invalid_argument(path.string() +
                                " is missing: give a folder written by `attnlab "
                                "export` or a Hugging Face Qwen3 model folder");
  }
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw std::invalid_argument(path.string() + " is not valid JSON: " + e.what());
  }
}

// model.safetensors, else the distinct shards of model.safetensors.index.json's weight_map.
std::vector<fs::path> weight_files(const fs::path& dir) {
  if (fs::exists(dir / "model.safetensors")) return {dir / "model.safetensors"};
  const auto index_path = dir / "model.safetensors.index.json";
  if (!fs::exists(index_path)) {
    throw std::invalid_argument(dir.string() +
                                " holds neither model.safetensors nor "
                                "model.safetensors.index.json");
  }
  const auto index = read_json(index_path);
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw std::invalid_argument(index_path.string() +
                                ": \"weight_map\" is missing or not an object");
  }
  std::set<std::string> shards;
  for (const auto& item : index["weight_map"].items())
    shards.insert(item.value().get<std::string>());
  std::vector<fs::path> files;
  for (const auto& shard : shards) files.push_back(dir / shard);
  return files;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Copies every tensor of `file` into `targets` (by our names), marking it in `loaded`.
void load_file(const fs::path& file, std::map<std::string, torch::Tensor>& targets,
               std::set<std::string>& loaded) {
  const auto fail = [&](const std::string& name, const std::string& what) {
    throw std::invalid_argument(file.string() + ": tensor '" + name + "': " + what);
  };
  torch::NoGradGuard no_grad;
  for (const auto& [hf, tensor] : read_safetensors(file).tensors) {
    if (ends_with(hf, "rotary_emb.inv_freq")) continue;
    const auto ours = from_hf_name(hf);
    if (!ours || !targets.count(*ours)) {
      fail(hf,
           "the model has no such tensor (docs/INTEROP.md lists the names; is config.json "
           "the one of these weights?)");
    }
    auto& target = targets.at(*ours);
    if (target.sizes() != tensor.sizes()) {
      fail(hf, "shape " + c10::str(tensor.sizes()) + ", the model's " + *ours + " has " +
                   c10::str(target.sizes()));
    }
    if (!loaded.insert(*ours).second) fail(hf, "stored twice");
    target.copy_(tensor);
  }
}

}  // namespace

ImportedModel import_safetensors(const fs::path& dir, plugin::PluginRegistry& plugins) {
  const auto config_path = dir / "config.json";
  ImportedModel out;
  out.tree = tree_from_hf_config(read_json(config_path), config_path.string());
  out.model = spec::build_model(out.tree, plugins);
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : out.model->named_parameters()) targets[p.key()] = p.value();
  for (const auto& b : out.model->named_buffers()) targets[b.key()] = b.value();
  std::set<std::string> loaded;
  for (const auto& file : weight_files(dir)) load_file(file, targets, loaded);
  for (const auto& p : out.model->named_parameters()) {
    if (!loaded.count(p.key())) {
      throw std::invalid_argument(dir.string() + ": tensor '" + to_hf_name(p.key()) + "' (our " +
                                  p.key() + ") is missing from the weights");
    }
  }
  out.tensors = int64_t(loaded.size());
  out.model->eval();
  return out;
}

void write_imported_checkpoint(const ImportedModel& imported, const fs::path& out) {
  const auto tmp_dir = fs::path(out.string() + ".import.tmp");
  fs::remove_all(tmp_dir);
  torch::optim::SGD optimizer(imported.model->parameters(), torch::optim::SGDOptions(0.1));
  train::CheckpointMeta meta;
  const auto tree = imported.tree.dump();
  meta.config_fingerprint = util::sha256_hex(tree.data(), tree.size());
  meta.code_version = "attnlab import";
  const auto written = train::CheckpointManager(tmp_dir, 1).save(*imported.model, optimizer, meta);
  fs::rename(written, out);
  fs::remove_all(tmp_dir);
}

}  // namespace attnlab::interop
