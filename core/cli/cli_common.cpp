// Option parsing and default paths shared by every subcommand.
#include "cli_common.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "attnlab/store/store.h"

namespace attnlab::cli {

ParsedArgs parse_args(const std::string& command, const std::string& usage,
                      const po::options_description& options, const std::vector<std::string>& args,
                      const std::string& positional_name) {
  po::options_description all("Options");
  all.add(options);
  all.add_options()("help,h", "print this help and exit");
  if (!positional_name.empty()) {
    all.add_options()(positional_name.c_str(), po::value<std::vector<std::string>>(), "");
  }
  po::positional_options_description pos;
  if (!positional_name.empty()) pos.add(positional_name.c_str(), -1);

  ParsedArgs out;
  try {
    auto parsed = po::command_line_parser(args).options(all).positional(pos).run();
    po::store(parsed, out.vm);
    if (out.vm.count("help")) {  // before notify(), so --help works without required options
      std::cout << "usage: attnlab " << command << " " << usage << "\n\n" << options << "\n";
      out.help = true;
      return out;
    }
    po::notify(out.vm);
  } catch (const po::error& e) {
    std::ostringstream msg;
    msg << e.what() << " (see 'attnlab " << command << " --help' for the options it takes)";
    throw UsageError(msg.str());
  }
  if (!positional_name.empty() && out.vm.count(positional_name)) {
    out.positional = out.vm[positional_name].as<std::vector<std::string>>();
  }
  return out;
}

std::string default_db_path() {
  if (const char* env = std::getenv("ATTNLAB_DB"); env && *env) return env;
  return std::string(store::kDefaultResultsDir) + "/attnlab.db";
}

std::filesystem::path default_plugin_dir() {
  if (const char* env = std::getenv("ATTNLAB_PLUGIN_DIR"); env && *env) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "plugins";
  return exe.parent_path() / "plugins";
}

std::filesystem::path default_experiments_dir() {
  if (const char* env = std::getenv("ATTNLAB_EXPERIMENTS_DIR"); env && *env) return env;
  return "experiments";
}

}  // namespace attnlab::cli
