// The subcommands of the `attnlab` executable: one function per command, one file each
// (cmd_<name>.cpp). `args` holds the arguments after the subcommand's name.
#pragma once
#include <string>
#include <vector>

namespace attnlab::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);      // expand an experiment's matrix and train every cell
int cmd_train(const Args& args);    // train one resolved config (one matrix cell)
int cmd_report(const Args& args);   // tables and figures from the results store
int cmd_plugins(const Args& args);  // list / inspect attention plugins
int cmd_bench(const Args& args);    // benchmarks: attention ops and training steps
int cmd_data(const Args& args);     // tokenizers and shards: prepare, inspect, tokenize
int cmd_config(const Args& args);   // show / schema: composed configs without running
int cmd_generate(const Args& args); // text from a trained run, decoding with a KV cache
int cmd_eval(const Args& args);     // evaluation tasks of a trained run, stored as evals rows
int cmd_serve(const Args& args);    // read-only web pages over the results store
int cmd_export(const Args& args);   // a trained run as a Hugging Face safetensors folder
int cmd_import(const Args& args);   // a Hugging Face Qwen3 folder as an attnlab checkpoint

struct Command {
  const char* name;
  const char* summary;
  int (*fn)(const Args&);
};

// Every subcommand, in the order `attnlab --help` lists them.
const std::vector<Command>& all_commands();

}  // namespace attnlab::cli
