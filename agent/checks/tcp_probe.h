#pragma once

// One run of a TCP check: passing when a connection to host:port opens
// within the timeout, critical otherwise.

#include <chrono>
#include <memory>
#include <string>

#include "agent/checks/probe.h"

namespace boost::asio {
class io_context;
}

namespace roster::checks {

// Output: "TCP connect <address>: Success", or the error. Runs on `io`; see
// ProbeCallback for when `done` is called.
std::shared_ptr<Probe> start_tcp_probe(boost::asio::io_context& io, const std::string& address,
                                       std::chrono::nanoseconds timeout, ProbeCallback done);

}  // namespace roster::checks
