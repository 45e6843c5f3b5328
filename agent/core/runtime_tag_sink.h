#pragma once

// RuntimeTagSink: the executor's TagSink (agent/exec/exec_context.h) over
// the agent's runtime tag layer (AgentCore::set_runtime_tags), which is
// persisted in the data dir and merged into the node's tags.
//
// Thread affinity: any thread. AgentCore lives on its io_context's thread; a
// call from another thread (the exec driver's) is posted there and waited
// for, up to a timeout (unavailable when the io_context does not run it in
// time, e.g. during shutdown). A call on that thread runs at once.

#include <chrono>
#include <map>
#include <string>

#include "agent/exec/exec_context.h"

namespace boost::asio {
class io_context;
}

namespace roster::agent {

class AgentCore;

class RuntimeTagSink final : public exec::TagSink {
 public:
  // `io` runs `core`; both must outlive the sink.
  RuntimeTagSink(boost::asio::io_context& io, AgentCore& core,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // The runtime layer only (not the image or operator layers).
  std::map<std::string, std::string> tags() override;
  // Makes the runtime layer exactly `tags`: keys not in it are removed.
  Status set_tags(const std::map<std::string, std::string>& tags) override;

 private:
  boost::asio::io_context& io_;
  AgentCore& core_;
  std::chrono::milliseconds timeout_;
};

}  // namespace roster::agent
