// The WebDriver client (see webdriver.h): chromedriver as a child process, W3C commands as
// JSON over HTTP, screenshots decoded from base64.
#include "webdriver.h"

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace attnlab::serve::testing {

namespace {

// A port nothing listens on now (the system's choice for port 0).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot find a free port for chromedriver");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string base64_decode(const std::string& text) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const auto index = alphabet.find(c);
    if (index == std::string::npos) continue;  // '=' padding, line breaks
    bits = (bits << 6) | static_cast<uint32_t>(index);
    if ((count += 6) >= 8) out += static_cast<char>((bits >> (count -= 8)) & 0xff);
  }
  return out;
}

const nlohmann::json kCapabilities = {
    {"capabilities",
     {{"alwaysMatch",
       {{"browserName", "chrome"},
        {"goog:chromeOptions",
         {{"args",
           {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1280,900"}}}}}}}}};

}  // namespace

WebDriver::WebDriver() : port_(free_port()) {
  driver_pid_ = fork();
  if (driver_pid_ == 0) {
    const std::string port = "--port=" + std::to_string(port_);
    execlp("chromedriver", "chromedriver", port.c_str(), "--silent", nullptr);
    _exit(127);
  }
  for (int i = 0; i < 100; ++i) {  // up to 10 s for the driver to answer /status
    httplib::Client client("127.0.0.1", port_);
    if (const auto r = client.Get("/status"); r && r->status == 200) break;
    if (waitpid(driver_pid_, nullptr, WNOHANG) == driver_pid_) {
      driver_pid_ = -1;
      throw std::runtime_error("chromedriver exited at start (is chromium-driver installed?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  session_ = command("POST", "/session", kCapabilities)["sessionId"].get<std::string>();
}

WebDriver::~WebDriver() {
  try {
    if (!session_.empty()) command("DELETE", "/session/" + session_);
  } catch (const std::exception&) {  // the driver is stopped below either way
  }
  if (driver_pid_ > 0) {
    kill(driver_pid_, SIGTERM);
    waitpid(driver_pid_, nullptr, 0);
  }
}

nlohmann::json WebDriver::command(const std::string& method, const std::string& path,
                                  const nlohmann::json& body) {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(60, 0);
  const std::string payload = body.is_null() ? "{}" : body.dump();
  const auto r = method == "GET"      ? client.Get(path.c_str())
                 : method == "DELETE" ? client.Delete(path.c_str())
                                      : client.Post(path.c_str(), payload, "application/json");
  if (!r) throw std::runtime_error("WebDriver " + method + " " + path + ": no answer");
  const auto answer = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200 || answer.is_discarded()) {
    throw std::runtime_error("WebDriver " + method + " " + path + ": HTTP " +
                             std::to_string(r->status) + ": " + r->body.substr(0, 500));
  }
  return answer["value"];
}

void WebDriver::open(const std::string& url) {
  command("POST", "/session/" + session_ + "/url", {{"url", url}});
}

nlohmann::json WebDriver::execute(const std::string& script, const nlohmann::json& args) {
  return command("POST", "/session/" + session_ + "/execute/sync",
                 {{"script", script}, {"args", args}});
}

nlohmann::json WebDriver::text(const std::string& selector) {
  return execute("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                 {selector});
}

bool WebDriver::wait_for(const std::string& condition, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (execute("return !!(" + condition + ");").get<bool>()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void WebDriver::screenshot(const std::filesystem::path& png) {
  const auto data = command("GET", "/session/" + session_ + "/screenshot");
  std::filesystem::create_directories(png.parent_path());
  std::ofstream(png, std::ios::binary) << base64_decode(data.get<std::string>());
}

}  // namespace attnlab::serve::testing
