// attnlab import: a Hugging Face Qwen3 folder (ours from `attnlab export`, or a Qwen3 model of
// a shape our decoder expresses) read into our decoder and written as an attnlab checkpoint
// for train.init_from (attnlab/interop/import_model.h, docs/INTEROP.md).

#include <cstdio>
#include <filesystem>

#include "attnlab/interop/import_model.h"
#include "attnlab/plugin/registry.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {
namespace {

namespace fs = std::filesystem;

const std::string kUsage =
    "DIR --out FILE.ckpt [--force]\n\n"
    "Reads DIR/config.json and DIR/model.safetensors (or the shards model.safetensors.index.json\n"
    "lists) and writes an attnlab checkpoint of that model. DIR is a folder written by\n"
    "`attnlab export` (its config.json's \"attnlab\" section rebuilds the same plugin and model\n"
    "config; fp32 exports come back bit-exact, bf16 ones upcast exactly) or a Hugging Face Qwen3\n"
    "model without attnlab section, imported as a `dense` model of its sizes (refused with the\n"
    "key when it uses what our decoder lacks: attention_bias, a sliding window, rope_scaling).\n"
    "Every file is checked first: a malformed safetensors file is refused naming the file and\n"
    "the tensor.\n\n"
    "Use the checkpoint to start training from these weights: train.init_from=FILE.ckpt with a\n"
    "model: section equal to the printed one. An existing FILE.ckpt is refused unless --force.";

}  // namespace

int cmd_import(const Args& args) {
  po::options_description options("import");
  options.add_options()("out", po::value<std::string>(), "the checkpoint file to write (required)")(
      "force", po::bool_switch(), "replace an existing FILE.ckpt");
  const auto parsed = parse_args("import", kUsage, options, args, "dir");
  if (parsed.help) return 0;
  const auto& vm = parsed.vm;
  if (parsed.positional.size() != 1) throw UsageError("expected one folder DIR");
  if (!vm.count("out")) throw UsageError("--out FILE.ckpt is required");
  const fs::path dir = parsed.positional.front(), out = vm["out"].as<std::string>();
  if (!fs::is_directory(dir)) throw UsageError(dir.string() + " is not a folder");
  if (out.extension() != ".ckpt") throw UsageError("--out must name a .ckpt file");
  if (fs::exists(out) && !vm["force"].as<bool>()) {
    throw UsageError(out.string() + " exists; give --force to replace it");
  }
  plugin::PluginRegistry plugins(default_plugin_dir());
  std::fprintf(stderr, "attnlab import: reading %s\n", dir.c_str());
  const auto imported = interop::import_safetensors(dir, plugins);
  interop::write_imported_checkpoint(imported, out);
  std::printf("%s: %lld tensors, plugin %s\nmodel: %s\n", out.c_str(),
              static_cast<long long>(imported.tensors),
              imported.tree["attention"]["variant"].get<std::string>().c_str(),
              imported.tree["model"].dump().c_str());
  return 0;
}

}  // namespace attnlab::cli
