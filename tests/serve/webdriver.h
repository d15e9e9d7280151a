// A small W3C WebDriver client (httplib's client) for the browser test: starts Debian's
// chromedriver on a free port, opens a headless Chromium session (--headless=new --no-sandbox
// --disable-gpu: the tests may run as root, without a display), navigates, runs scripts and
// takes screenshots. Every failed command throws, naming the command and the driver's message.
#pragma once
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace attnlab::serve::testing {

class WebDriver {
 public:
  WebDriver();  // chromedriver and chromium from PATH
  ~WebDriver();
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  void open(const std::string& url);
  // The value `script` (a function body; arguments[i] are `args`) returns.
  nlohmann::json execute(const std::string& script,
                         const nlohmann::json& args = nlohmann::json::array());
  // The text of the first element matching `selector`, or null.
  nlohmann::json text(const std::string& selector);
  // Waits up to timeout_s for `condition` (a JS expression) to be true; false on timeout.
  bool wait_for(const std::string& condition, double timeout_s = 15);
  void screenshot(const std::filesystem::path& png);

 private:
  nlohmann::json command(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);
  int driver_pid_ = -1;
  int port_ = 0;
  std::string session_;
};

}  // namespace attnlab::serve::testing
