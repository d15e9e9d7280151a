// The test server on its own thread (see running_server.h).
#include "running_server.h"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

namespace attnlab::serve::testing {

RunningServer::RunningServer(const std::string& db_path)
    : server_(ServeOptions{db_path, "127.0.0.1", 0}) {
  port_ = server_.bind();
  thread_ = std::thread([this] { server_.listen(); });
  while (!server_.listening()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

RunningServer::~RunningServer() {
  server_.stop();
  thread_.join();
}

std::string RunningServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

Answer RunningServer::get(const std::string& path) const {
  httplib::Client client("127.0.0.1", port_);
  const auto response = client.Get(path.c_str());
  if (!response) throw std::runtime_error("GET " + path + ": no answer from the test server");
  return {response->status, response->body};
}

}  // namespace attnlab::serve::testing
