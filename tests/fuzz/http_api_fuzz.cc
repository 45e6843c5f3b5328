// libFuzzer target for the HTTP API: arbitrary bytes become one request that
// goes through parse_target() and Api::handle() against a long-lived -dev
// AgentCore. The property is "never crashes, leaks or trips a sanitizer";
// responses are not checked.
//
// Input layout:
//   byte 0        control bits:
//                   bits 0-2  method: GET GET PUT PUT DELETE POST HEAD, or 7 =
//                             take it from the first line ("METHOD TARGET")
//                   bit 3     add "index=<current index>&wait=<1ms..>" so the
//                             blocking path runs; a returned wait is then
//                             answered as if its deadline had passed
//                   bit 4     prefix the target with "/v1/" (helps the fuzzer
//                             reach routes quickly)
//   bytes 1..     the target up to the first '\n'; the rest is the body.
//
// The core keeps its state across inputs (so a PUT can be read back by a later
// GET) and is rebuilt every kResetEvery inputs to bound memory and per-input
// cost. Its io_context is never run: no check or session timer fires, and
// no HTTP/TCP check reaches the network.

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "agent/http/http_types.h"
#include "common/clock.h"

namespace {

constexpr int kResetEvery = 20000;

struct Harness {
  roster::SystemClock clock;
  std::unique_ptr<boost::asio::io_context> io;
  std::unique_ptr<roster::agent::AgentCore> core;
  std::unique_ptr<roster::http::Api> api;
  int runs = 0;

  Harness() { rebuild(); }

  void rebuild() {
    if (core) core->stop();
    api.reset();
    core.reset();
    io.reset();  // drops any handlers the old core left queued, without running them
    io = std::make_unique<boost::asio::io_context>(1);
    roster::agent::CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "fuzz-node", "dc1", "127.0.0.1", "127.0.0.1:8500",
                        true};
    options.image_tags = {{"role", "fuzz"}};
    core = std::make_unique<roster::agent::AgentCore>(*io, clock, options);
    if (!core->start().is_ok()) __builtin_trap();
    api = std::make_unique<roster::http::Api>(*core);
  }
};

Harness& harness() {
  static Harness* instance = [] {
    spdlog::set_level(spdlog::level::off);
    return new Harness();
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Harness& h = harness();
  if (++h.runs % kResetEvery == 0) h.rebuild();

  const uint8_t control = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t newline = rest.find('\n');
  std::string_view line = rest.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);

  static constexpr std::array<const char*, 7> kMethods = {"GET", "GET", "PUT", "PUT", "DELETE", "POST", "HEAD"};
  roster::http::HttpRequest request;
  request.headers["host"] = "127.0.0.1:8500";  // else every request stops at the HTTP/1.1 Host check
  std::string target;
  if ((control & 7) == 7) {
    size_t space = line.find(' ');
    request.method = std::string(line.substr(0, space));
    target = space == std::string_view::npos ? std::string() : std::string(line.substr(space + 1));
  } else {
    request.method = kMethods[control & 7];
    target = std::string(line);
  }
  if (control & 0x10) target = "/v1/" + target;
  if (control & 0x08) {
    target += target.find('?') == std::string::npos ? '?' : '&';
    target += "index=" + std::to_string(h.core->store().last_index()) + "&wait=" +
              std::to_string(1 + (control >> 5)) + "ms";
  }
  if (!roster::http::parse_target(target, request.path, request.query)) return 0;
  request.body = std::string(body);

  roster::http::BlockingState blocking;
  roster::http::HandleResult result = h.api->handle(request, blocking);
  if (result.wait) {
    // What the server does when the deadline passes: call again, expired.
    blocking.expired = true;
    result = h.api->handle(request, blocking);
    if (result.wait) __builtin_trap();  // an expired query must answer
  }
  return 0;
}
