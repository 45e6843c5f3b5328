// The HTTP KV channel without a catalog: key paths, moving to the next
// candidate after a failure, and cancel() ending a blocking query at once.
// (The real catalog is exercised by tests/integration/test_exec.py.)

#include "agent/rpc/http_kv_channel.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

namespace roster::rpc {
namespace {

using namespace std::chrono_literals;

// A loopback port that accepts connections (into the backlog) and never answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A loopback port nobody listens on.
std::string closed_address() {
  SilentListener listener;
  return listener.address();
}

TEST(HttpKvChannelTest, KeyPathsArePercentEncodedPerSegment) {
  EXPECT_EQ(kv_path("roster/deploy/bundles/web-1"), "/v1/kv/roster/deploy/bundles/web-1");
  EXPECT_EQ(kv_path("roster/deploy/bundles/web 1?x"), "/v1/kv/roster/deploy/bundles/web%201%3Fx");
}

TEST(HttpKvChannelTest, NoCandidateIsUnavailable) {
  HttpKvChannel channel([] { return std::vector<std::string>{}; });
  EXPECT_EQ(channel.get("k", 0, 1s).status().code(), StatusCode::unavailable);
  EXPECT_EQ(channel.put("k", "v").code(), StatusCode::unavailable);
}

TEST(HttpKvChannelTest, AFailedCandidateIsLeftForTheNext) {
  const std::vector<std::string> candidates = {closed_address(), closed_address()};
  HttpKvChannel channel([&] { return candidates; }, 2s);
  Result<KvRead> first = channel.get("k", 0, 1s);
  EXPECT_EQ(first.status().code(), StatusCode::unavailable);
  EXPECT_NE(first.status().message().find(candidates[0]), std::string::npos) << first.status().message();
  EXPECT_EQ(channel.current_address(), candidates[0]);
  (void)channel.get("k", 0, 1s);
  EXPECT_EQ(channel.current_address(), candidates[1]);
}

TEST(HttpKvChannelTest, CancelEndsABlockingQueryAtOnce) {
  SilentListener listener;
  HttpKvChannel channel([&] { return std::vector<std::string>{listener.address()}; });
  auto query = std::async(std::launch::async, [&] { return channel.get("k", 5, std::chrono::minutes(5)); });
  EXPECT_EQ(query.wait_for(200ms), std::future_status::timeout);  // it is blocked
  const auto before = std::chrono::steady_clock::now();
  channel.cancel();
  ASSERT_EQ(query.wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_EQ(query.get().status().code(), StatusCode::unavailable);
  EXPECT_EQ(channel.put("k", "v").code(), StatusCode::unavailable);  // and stays cancelled
}

}  // namespace
}  // namespace roster::rpc
