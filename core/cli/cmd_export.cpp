// attnlab export: a trained run's model as a Hugging Face folder. Finds the run (by name, id or
// checkpoint path; attnlab/run/load_run.h), loads its newest checkpoint and writes
// model.safetensors and config.json (attnlab/interop/export_model.h, docs/INTEROP.md).

#include <cstdio>
#include <filesystem>
#include <optional>

#include "attnlab/interop/export_model.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/run/load_run.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {
namespace {

namespace fs = std::filesystem;

const std::string kUsage =
    std::string(
        "RUN|CHECKPOINT --format safetensors --out DIR [--dtype fp32|bf16] [--force] [--db "
        "PATH]\n\n"
        "Writes a trained run's model as a Hugging Face Qwen3 folder: DIR/model.safetensors (the\n"
        "weights under Qwen3's tensor names) and DIR/config.json (Qwen3ForCausalLM sizes, RoPE\n"
        "theta, RMSNorm epsilon, tied embeddings, and an \"attnlab\" section naming the attention\n"
        "plugin, its options and our model config). A `dense` run loads in transformers with\n"
        "AutoModelForCausalLM.from_pretrained(DIR) and computes what attnlab computes; other\n"
        "plugins' own tensors (gates, routers) are stored under "
        "model.layers.{i}.self_attn.attnlab.*\n"
        "and need attnlab (`attnlab import DIR --out FILE.ckpt`). docs/INTEROP.md has the "
        "names.\n\n") +
    run::kTargetHelp +
    "\n--dtype bf16 rounds every weight to bfloat16 (nearest even); fp32 (default) is exact.\n"
    "A DIR that exists and is not empty is refused unless --force.";

}  // namespace

int cmd_export(const Args& args) {
  po::options_description options("export");
  options.add_options()("format", po::value<std::string>(), "safetensors (the only format)")(
      "out", po::value<std::string>(), "the folder to write (required)")(
      "dtype", po::value<std::string>()->default_value("fp32"), "fp32 or bf16")(
      "force", po::bool_switch(), "write into a non-empty DIR, replacing its files")(
      "db", po::value<std::string>(), "results store (default results/attnlab.db or ATTNLAB_DB)");
  const auto parsed = parse_args("export", kUsage, options, args, "target");
  if (parsed.help) return 0;
  const auto& vm = parsed.vm;
  if (parsed.positional.size() != 1) throw UsageError("expected one RUN or CHECKPOINT path");
  if (!vm.count("format") || vm["format"].as<std::string>() != "safetensors") {
    throw UsageError("--format safetensors is required (the only export format)");
  }
  if (!vm.count("out")) throw UsageError("--out DIR is required");
  const auto dtype = vm["dtype"].as<std::string>();
  if (dtype != "fp32" && dtype != "bf16") throw UsageError("--dtype must be fp32 or bf16");
  const fs::path out = vm["out"].as<std::string>();
  if (fs::exists(out) && (!fs::is_directory(out) || !fs::is_empty(out)) &&
      !vm["force"].as<bool>()) {
    throw UsageError(out.string() +
                     " exists and is not an empty folder; give --force to write into it");
  }
  const auto db =
      vm.count("db") ? std::optional<std::string>(vm["db"].as<std::string>()) : std::nullopt;
  const auto target = run::resolve_target(parsed.positional.front(), db, default_db_path());
  const auto tree = nlohmann::json::parse(target.run.config_json);
  plugin::PluginRegistry plugins(default_plugin_dir());
  const auto loaded = run::load_run(target, tree, plugins);
  std::fprintf(stderr, "attnlab export: %s/%s (plugin %s, %lld trained steps) -> %s\n",
               target.run.experiment.c_str(), target.run.name.c_str(), loaded.plugin.c_str(),
               static_cast<long long>(loaded.trained_steps), out.c_str());
  const auto s = interop::export_safetensors(*loaded.model, tree, out, dtype);
  std::printf("%s: %lld tensors, %llu bytes (%s)\n%s\n", s.weights.c_str(),
              static_cast<long long>(s.tensors), static_cast<unsigned long long>(s.bytes),
              dtype.c_str(), s.config.c_str());
  return 0;
}

}  // namespace attnlab::cli
