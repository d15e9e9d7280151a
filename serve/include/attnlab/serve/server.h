// `attnlab serve`'s web server (docs/SERVE.md): the pages and the JSON API (api.h) over one
// results store, opened read-only afresh for every request so that a store written by running
// trainings is always read as it is now (SQLite's 30 s busy timeout covers a writer's commit).
#pragma once
#include <memory>
#include <stdexcept>
#include <string>

namespace attnlab::serve {

// A problem starting the server (no store, a port in use): one line saying what to do.
class ServeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kDefaultPort = 8321;

struct ServeOptions {
  std::string db_path;
  std::string host = "127.0.0.1";
  int port = kDefaultPort;  // 0: a free port, chosen by the system
};

// True for 127.0.0.0/8, ::1 and "localhost": addresses only this machine reaches.
bool is_loopback(const std::string& host);

class Server {
 public:
  // Checks that options.db_path is a store this build reads (ServeError or StoreError if not).
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and returns the port (the chosen one for port 0); ServeError when the port
  // is in use or the host cannot be bound.
  int bind();
  // Serves requests until stop(); call after bind(), e.g. on its own thread.
  void listen();
  // Stops listen(); only once listening() (a stop before that is lost).
  void stop();
  bool listening() const;
  // "http://host:port/" once bound.
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnlab::serve
