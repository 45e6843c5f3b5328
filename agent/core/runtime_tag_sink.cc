#include "agent/core/runtime_tag_sink.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <memory>

#include "agent/core/agent_core.h"

namespace roster::agent {

namespace {

// Runs `work` on `io`'s thread and waits for its value. The promise is shared
// so a call that timed out leaves nothing dangling behind.
template <typename T, typename Work>
Result<T> run_on(boost::asio::io_context& io, std::chrono::milliseconds timeout, Work work) {
  if (io.get_executor().running_in_this_thread()) return work();
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  boost::asio::post(io, [promise, work = std::move(work)]() mutable { promise->set_value(work()); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Status::unavailable("the agent did not take the tag change in time (is it shutting down?)");
  }
  return future.get();
}

}  // namespace

RuntimeTagSink::RuntimeTagSink(boost::asio::io_context& io, AgentCore& core, std::chrono::milliseconds timeout)
    : io_(io), core_(core), timeout_(timeout) {}

std::map<std::string, std::string> RuntimeTagSink::tags() {
  using Tags = std::map<std::string, std::string>;
  Result<Tags> tags = run_on<Tags>(io_, timeout_, [this]() -> Result<Tags> {
    const catalog::TagMap& runtime = core_.runtime_tags();
    return Tags(runtime.begin(), runtime.end());
  });
  return tags.is_ok() ? *tags : Tags{};
}

// The write is started on the core's thread and awaited here, on the
// executor's: the tag task reports its outcome only once the catalog has the
// new layer.
Status RuntimeTagSink::set_tags(const std::map<std::string, std::string>& tags) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  auto write = [this, tags, promise] {
    std::vector<std::string> remove;
    for (const auto& [key, value] : core_.runtime_tags()) {
      if (!tags.contains(key)) remove.push_back(key);
    }
    catalog::TagMap set(tags.begin(), tags.end());
    core_.set_runtime_tags(set, remove, [promise](Status status) { promise->set_value(std::move(status)); });
  };
  if (io_.get_executor().running_in_this_thread()) {
    // The core's own thread cannot wait for itself: only a catalog that
    // answers at once (-dev) gives an outcome here.
    write();
    if (future.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return future.get();
    return Status::unavailable("the tag change was sent to the catalog; its outcome is not known yet");
  }
  boost::asio::post(io_, std::move(write));
  if (future.wait_for(timeout_) != std::future_status::ready) {
    return Status::unavailable("the catalog did not take the tag change in time (no leader, or shutting down)");
  }
  return future.get();
}

}  // namespace roster::agent
