#include "server/deploy/daemon.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

#include "server/playbook/loader.h"
#include "tests/fakes/fake_catalog_api.h"

namespace roster::deploy {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPlaybook = R"(
- name: web
  hosts: role=web
  tasks:
    - name: motd
      copy: {dest: /etc/motd, content: "{{ node.name }}\n"}
)";

// Waits for a condition another thread makes true; fails after 20 s.
template <typename Predicate>
bool eventually(Predicate predicate) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Real threads, the in-memory catalog and the system clock: the standby lock
// and the watchers as they run in production.
class DaemonTest : public testing::Test {
 protected:
  DaemonTest() : key_(SigningKey::generate().value()) {
    std::vector<PlaybookError> errors;
    playbooks_ = parse_playbook_text(kPlaybook, "site.yaml", errors);
    for (const auto& error : errors) ADD_FAILURE() << error.to_string();
    logger_ = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
  }

  std::unique_ptr<Daemon> make_daemon() {
    DaemonOptions options;
    options.watch_wait = 50ms;
    options.retry_pause = 10ms;
    options.lock.watch_wait = 50ms;
    options.lock.retry_pause = 10ms;
    return std::make_unique<Daemon>(options, playbooks_, [](const std::string&) { return std::nullopt; }, key_, api_,
                                    clock_, logger_);
  }

  fakes::FakeCatalogApi api_;
  SystemClock clock_;
  SigningKey key_;
  std::vector<Playbook> playbooks_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(DaemonTest, TheActiveInstanceDispatchesAsNodesAppear) {
  auto daemon = make_daemon();
  std::jthread thread([&](std::stop_token stop) { daemon->run(stop); });
  ASSERT_TRUE(eventually([&] { return daemon->active(); }));
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  EXPECT_TRUE(eventually([&] { return api_.value(deploy_records::bundle_key("web-1")).has_value(); }));
  thread.request_stop();
  thread.join();
  EXPECT_FALSE(api_.value(std::string(deploy_records::kLockKey)).has_value()) << "released on stop";
  EXPECT_TRUE(api_.sessions().empty());
}

TEST_F(DaemonTest, AStandbyTakesOverWhenTheActiveOneStops) {
  api_.set_node("web-1", "id-web-1", {{"role", "web"}});
  auto first = make_daemon();
  auto second = make_daemon();
  std::jthread first_thread([&](std::stop_token stop) { first->run(stop); });
  ASSERT_TRUE(eventually([&] { return first->active(); }));
  std::jthread second_thread([&](std::stop_token stop) { second->run(stop); });
  ASSERT_TRUE(eventually([&] { return api_.sessions().size() == 2; }));
  EXPECT_FALSE(second->active());

  first_thread.request_stop();
  first_thread.join();
  EXPECT_TRUE(eventually([&] { return second->active(); }));
}

TEST_F(DaemonTest, LosingTheLockStopsDispatchingAndAnotherTakesOver) {
  auto first = make_daemon();
  std::jthread first_thread([&](std::stop_token stop) { first->run(stop); });
  ASSERT_TRUE(eventually([&] { return first->active(); }));
  const std::string first_session = api_.sessions().front();
  auto second = make_daemon();
  std::jthread second_thread([&](std::stop_token stop) { second->run(stop); });
  ASSERT_TRUE(eventually([&] { return api_.sessions().size() == 2; }));

  api_.expire_session(first_session);  // its agent stopped hearing from it
  EXPECT_TRUE(eventually([&] { return second->active(); }));
  EXPECT_TRUE(eventually([&] { return !first->active(); }));
  EXPECT_NE(log_.str().find("stopped dispatching"), std::string::npos);
}

}  // namespace
}  // namespace roster::deploy
