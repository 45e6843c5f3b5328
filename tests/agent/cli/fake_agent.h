#pragma once

// An in-process stand-in for an agent's HTTP API, for CLI tests: it listens
// on 127.0.0.1 (port 0), answers each route with a canned response, records
// every request, and closes each connection after one answer. Beast stays in
// fake_agent.cc.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace roster::testing {

struct RecordedRequest {
  std::string method;
  std::string target;  // path and query, as sent (still percent-encoded)
  std::string path;    // target before '?'
  std::string query;   // target after '?', "" if none
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

struct CannedResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

class FakeAgent {
 public:
  // Starts serving on its own thread.
  FakeAgent();
  // Stops the thread; pending connections are dropped.
  ~FakeAgent();
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  // "127.0.0.1:<port>".
  std::string address() const;

  // Answers `method` on `path` (query ignored) with `response`. Unrouted
  // requests get 404 "no route". Thread-safe.
  void on(const std::string& method, const std::string& path, CannedResponse response);

  // Every request received so far, oldest first. Thread-safe.
  std::vector<RecordedRequest> requests() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A loopback TCP port with nothing listening on it (bound, then released).
uint16_t closed_port();

// Listens on 127.0.0.1 but never accepts or answers, for timeout tests.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::string address() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace roster::testing
