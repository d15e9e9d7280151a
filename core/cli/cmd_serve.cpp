// attnlab serve: the read-only results browser (serve/, docs/SERVE.md): experiments, runs with
// live status, loss curves that update while a run trains, and the report's comparison table.
#include <iostream>

#include "attnlab/serve/server.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {

namespace {

constexpr const char* kUsage =
    "[--db PATH] [--port N] [--host ADDRESS]\n\n"
    "Serves web pages over the results store until interrupted (Ctrl-C): the experiments, each\n"
    "experiment's runs with live status (pending, running with step and ETA, finished, failed\n"
    "with its message), a run's loss curves that update while it trains, and an experiment's\n"
    "arms compared with the report's statistics (mean ± std, Δ with 95% CI, Welch p).\n"
    "It only reads the store (opened read-only for every request), so it is safe beside running\n"
    "trainings. Only this machine can connect unless --host says otherwise; from another\n"
    "machine, forward the port: ssh -L 8321:localhost:8321 HOST, then open\n"
    "http://localhost:8321/ (docs/SERVE.md).";

}  // namespace

int cmd_serve(const Args& args) {
  po::options_description options("serve");
  options.add_options()("db", po::value<std::string>()->default_value(default_db_path()),
                        "results store to read (env ATTNLAB_DB)")(
      "port", po::value<int>()->default_value(serve::kDefaultPort),
      "TCP port; 0 picks a free one (printed)")(
      "host", po::value<std::string>()->default_value("127.0.0.1"),
      "address to listen on; anything but loopback lets other machines read your results");
  auto parsed = parse_args("serve", kUsage, options, args);
  if (parsed.help) return 0;
  const auto& vm = parsed.vm;
  serve::ServeOptions o{vm["db"].as<std::string>(), vm["host"].as<std::string>(),
                        vm["port"].as<int>()};
  if (o.port < 0 || o.port > 65535) {
    throw UsageError("--port " + std::to_string(o.port) + " is not a TCP port (0..65535)");
  }
  if (!serve::is_loopback(o.host)) {
    std::cerr << "attnlab serve: warning: listening on " << o.host
              << ", not loopback: anyone who can reach this machine can read the results\n";
  }
  serve::Server server(o);
  server.bind();
  std::cout << "attnlab serve: reading " << o.db_path << " (read-only) at " << server.url()
            << "  (Ctrl-C to stop)" << std::endl;
  server.listen();
  return 0;
}

}  // namespace attnlab::cli
