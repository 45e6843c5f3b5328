#pragma once

// One run of an HTTP check: sends the check's method and headers to its URL
// and judges the answer as Consul does: 2xx passing, 429 warning, anything
// else (or no answer within the timeout) critical.

#include <cstddef>
#include <memory>

#include "agent/checks/probe.h"
#include "agent/local/definitions.h"

namespace boost::asio {
class io_context;
}

namespace roster::checks {

// REQUIRES: check.http is set. An unparsable URL completes as critical.
// Output: "HTTP GET <url>: 200 OK Output: <start of body>", cut to
// max_output_bytes. Runs on `io`; see ProbeCallback for when `done` is called.
std::shared_ptr<Probe> start_http_probe(boost::asio::io_context& io, const local::CheckDefinition& check,
                                        size_t max_output_bytes, ProbeCallback done);

}  // namespace roster::checks
