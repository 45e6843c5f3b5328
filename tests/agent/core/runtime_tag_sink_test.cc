// The executor's tag sink over the agent core: a call from another thread is
// carried out on the core's thread, and set_tags makes the runtime layer
// exactly what it is given.

#include "agent/core/runtime_tag_sink.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <thread>

#include "agent/core/agent_core.h"
#include "common/clock.h"

namespace roster::agent {
namespace {

using namespace std::chrono_literals;
using Tags = std::map<std::string, std::string>;

CoreOptions options() {
  CoreOptions options;
  options.identity = {"5d7c0a8e-24a1-4a34-9c3e-0f1e2d3c4b5a", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
  options.image_tags = {{"role", "base"}};
  options.runtime_tags = {{"stage", "one"}, {"old", "x"}};
  return options;
}

TEST(RuntimeTagSinkTest, FromAnotherThreadTheCoreThreadDoesTheWork) {
  boost::asio::io_context io{1};
  SystemClock clock;
  AgentCore core(io, clock, options());
  ASSERT_TRUE(core.start().is_ok());
  auto work = boost::asio::make_work_guard(io);
  std::thread core_thread([&] { io.run(); });

  RuntimeTagSink sink(io, core);
  EXPECT_EQ(sink.tags(), (Tags{{"old", "x"}, {"stage", "one"}}));
  ASSERT_TRUE(sink.set_tags({{"stage", "two"}, {"new", "y"}}).is_ok());
  EXPECT_EQ(sink.tags(), (Tags{{"new", "y"}, {"stage", "two"}}));

  work.reset();
  io.stop();
  core_thread.join();
  const catalog::TagMap merged = core.merged_tags();
  EXPECT_EQ(merged.at("stage"), "two");
  EXPECT_EQ(merged.at("role"), "base");
  EXPECT_FALSE(merged.contains("old"));
  core.stop();
}

TEST(RuntimeTagSinkTest, OnTheCoreThreadItRunsAtOnce) {
  boost::asio::io_context io{1};
  SystemClock clock;
  AgentCore core(io, clock, options());
  ASSERT_TRUE(core.start().is_ok());
  RuntimeTagSink sink(io, core);
  Status status = Status::internal("not run");
  boost::asio::post(io, [&] { status = sink.set_tags({{"stage", "three"}}); });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (status.code() == StatusCode::internal && std::chrono::steady_clock::now() < deadline) io.run_one_for(10ms);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(core.runtime_tags(), (catalog::TagMap{{"stage", "three"}}));
  core.stop();
}

TEST(RuntimeTagSinkTest, AStoppedCoreThreadTimesOut) {
  boost::asio::io_context io{1};
  SystemClock clock;
  AgentCore core(io, clock, options());
  ASSERT_TRUE(core.start().is_ok());
  RuntimeTagSink sink(io, core, 50ms);
  EXPECT_EQ(sink.set_tags({{"stage", "four"}}).code(), StatusCode::unavailable);
  core.stop();
}

}  // namespace
}  // namespace roster::agent
