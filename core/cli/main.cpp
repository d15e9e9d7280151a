// The `attnlab` executable: dispatches to a subcommand and turns every error into one
// readable line (no C++ internals, no stack) and a non-zero exit code: 2 for usage errors
// (UsageError, and run::TargetError: a RUN|CHECKPOINT argument that names no run), else 1.
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "attnlab/run/load_run.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = {
      {"run", "run an experiment's matrix (skips finished runs)", cmd_run},
      {"train", "train one config (a single run, no matrix)", cmd_train},
      {"report", "tables and figures of an experiment from the results store", cmd_report},
      {"plugins", "list the attention plugins and their options", cmd_plugins},
      {"bench", "benchmarks: attention ops (time, memory, GFLOP/s) and training steps (tokens/s, MFU)", cmd_bench},
      {"data", "tokenizers and shards: prepare, inspect, tokenize, detokenize", cmd_data},
      {"config", "show a composed config or the schema of every key", cmd_config},
      {"generate", "continue a prompt with a trained run's model (KV cache, sampling)", cmd_generate},
      {"eval", "evaluate a trained run (loss by position, MQAR, passkey, ...)", cmd_eval},
      {"serve", "read-only web pages: runs, live loss curves, arm comparison", cmd_serve},
      {"export", "a trained run as a Hugging Face folder (model.safetensors, config.json)", cmd_export},
      {"import", "a Hugging Face Qwen3 folder as an attnlab checkpoint (train.init_from)", cmd_import},
  };
  return commands;
}

}  // namespace attnlab::cli

namespace {

void print_help() {
  std::cout << "attnlab: attention-variant ablations for language-model pretraining\n\n"
               "usage: attnlab <command> [options]   (attnlab <command> --help for details)\n\n"
               "commands:\n";
  for (const auto& c : attnlab::cli::all_commands()) {
    std::cout << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
  }
}

// "attnlab <command>: error: <what>" on stderr; returns the exit code.
int report_error(const std::string& command, const std::exception& e, int exit_code) {
  std::cerr << "attnlab " << command << ": error: " << e.what() << "\n";
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace attnlab::cli;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  Args args(argv + 2, argv + argc);
  for (const auto& c : all_commands()) {
    if (name != c.name) continue;
    try {
      return c.fn(args);
    } catch (const UsageError& e) {
      return report_error(name, e, 2);
    } catch (const attnlab::run::TargetError& e) {
      return report_error(name, e, 2);
    } catch (const std::exception& e) {
      return report_error(name, e, 1);
    }
  }
  std::cerr << "attnlab: error: unknown command '" << name << "'; expected one of:";
  for (const auto& c : all_commands()) std::cerr << " " << c.name;
  std::cerr << " (see 'attnlab --help')\n";
  return 2;
}
