// The web server: page and asset routes from memory, API routes each on a store opened
// read-only for that request, every failure an answer with a one-line message.
#include "attnlab/serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <filesystem>
#include <functional>

#include "assets.h"
#include "attnlab/reports/experiment_data.h"
#include "attnlab/serve/api.h"
#include "attnlab/store/store.h"

namespace attnlab::serve {

namespace {

using JsonHandler = std::function<nlohmann::json(const store::Store&, const httplib::Request&)>;

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

// A non-negative integer query parameter, `fallback` when absent; 400 (invalid_argument) if not.
int64_t int_param(const httplib::Request& req, const std::string& key, int64_t fallback) {
  if (!req.has_param(key.c_str())) return fallback;
  const std::string text = req.get_param_value(key.c_str());
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || value < 0) {
    throw std::invalid_argument("?" + key + "=" + text + " is not a step (a non-negative integer)");
  }
  return value;
}

void send_asset(httplib::Response& res, const std::string& name) {
  if (const auto asset = find_asset(name)) {
    res.set_content(asset->content, asset->content_type.c_str());
  } else if (const auto missing = missing_vendor_asset(name); !missing.empty()) {
    res.status = 500;
    res.set_content(missing, "text/plain; charset=utf-8");
  } else {
    res.status = 404;
    res.set_content("no asset " + name, "text/plain; charset=utf-8");
  }
}

}  // namespace

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct Server::Impl {
  ServeOptions options;
  httplib::Server http;
  int port = -1;

  // Opens the store read-only for this request and answers fn's JSON, or the error's status.
  void answer(const httplib::Request& req, httplib::Response& res, const JsonHandler& fn) const {
    res.set_header("Cache-Control", "no-store");
    try {
      const store::Store store(options.db_path, store::Store::ReadOnly{});
      res.set_content(fn(store, req).dump(), "application/json");
    } catch (const NotFound& e) {
      send_error(res, 404, e.what());
    } catch (const std::invalid_argument& e) {
      send_error(res, 400, e.what());
    } catch (const reports::ReportError& e) {
      send_error(res, 400, e.what());
    } catch (const store::StoreError& e) {
      send_error(res, 503, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, e.what());
    }
  }

  void api(const std::string& pattern, JsonHandler fn) {
    http.Get(pattern, [this, fn](const httplib::Request& req, httplib::Response& res) {
      answer(req, res, fn);
    });
  }

  // A page address: the one shell, page.html, whose app.js draws what the address names.
  void page(const std::string& pattern) {
    http.Get(pattern,
             [](const httplib::Request&, httplib::Response& res) { send_asset(res, "page.html"); });
  }

  void add_routes() {
    for (const char* pattern :
         {"/", R"(/experiments/([^/]+))", R"(/experiments/([^/]+)/compare)", R"(/runs/(\d+))"}) {
      page(pattern);
    }
    http.Get(R"(/assets/([A-Za-z0-9._-]+))",
             [](const httplib::Request& req, httplib::Response& res) {
               send_asset(res, req.matches[1]);
             });
    api("/api/experiments",
        [](const store::Store& s, const httplib::Request&) { return experiments_json(s); });
    api(R"(/api/experiments/([^/]+)/runs)", [](const store::Store& s, const httplib::Request& req) {
      return runs_json(s, req.matches[1]);
    });
    api(R"(/api/experiments/([^/]+)/compare)",
        [](const store::Store& s, const httplib::Request& req) {
          return compare_json(s, req.matches[1], req.get_param_value("baseline"));
        });
    api(R"(/api/runs/(\d+)/metrics)", [](const store::Store& s, const httplib::Request& req) {
      return metrics_json(s, std::stoll(req.matches[1]), int_param(req, "since", 0));
    });
  }
};

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  if (!std::filesystem::exists(options.db_path, ec) && !ec) {
    throw ServeError("no results store at " + options.db_path +
                     " (train something with 'attnlab run' first, or pass --db PATH)");
  }
  store::Store check(options.db_path, store::Store::ReadOnly{});  // a clear error now, not per page
  impl_->options = std::move(options);
  impl_->add_routes();
}

Server::~Server() = default;

int Server::bind() {
  const auto& o = impl_->options;
  // httplib's default sets SO_REUSEPORT, which would let a second server share a port in use.
  impl_->http.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  impl_->port = o.port == 0 ? impl_->http.bind_to_any_port(o.host.c_str())
                            : (impl_->http.bind_to_port(o.host.c_str(), o.port) ? o.port : -1);
  if (impl_->port < 0) {
    throw ServeError("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                     ": the port is in use or the address is not this machine's (pass another "
                     "--port N, --port 0 for a free one, or another --host)");
  }
  return impl_->port;
}

void Server::listen() { impl_->http.listen_after_bind(); }

void Server::stop() { impl_->http.stop(); }

bool Server::listening() const { return impl_->http.is_running(); }

std::string Server::url() const {
  const auto& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port) + "/";
}

}  // namespace attnlab::serve
