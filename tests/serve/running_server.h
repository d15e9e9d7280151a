// An `attnlab serve` server on a free loopback port, listening on its own thread for the
// duration of a test, and GETs against it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "attnlab/serve/server.h"

namespace attnlab::serve::testing {

struct Answer {
  int status = 0;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

class RunningServer {
 public:
  explicit RunningServer(const std::string& db_path);
  ~RunningServer();

  int port() const { return port_; }
  std::string url(const std::string& path) const;
  Answer get(const std::string& path) const;

 private:
  Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace attnlab::serve::testing
