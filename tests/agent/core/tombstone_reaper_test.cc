#include "tests/fakes/write_now.h"
#include "agent/core/tombstone_reaper.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "agent/core/agent_core.h"
#include "tests/fakes/manual_clock.h"

namespace roster::agent {
namespace {

using namespace std::chrono_literals;

class TombstoneReaperTest : public ::testing::Test {
 protected:
  TombstoneReaperTest() : core_(io_, clock_, options()), reaper_(io_, clock_, core_, {.ttl = 15min, .granularity = 30s}) {}

  static CoreOptions options() {
    CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
    return options;
  }

  void SetUp() override { ASSERT_TRUE(core_.start().is_ok()); }
  void TearDown() override { core_.stop(); }

  catalog::Index kv(catalog::KvOp op, const std::string& key) {
    catalog::KvCommand command;
    command.op = op;
    command.key = key;
    command.value = "v";
    auto index = agent::testing::write_now(core_, command);
    EXPECT_TRUE(index.is_ok()) << index.status().to_string();
    return index.is_ok() ? *index : 0;
  }

  boost::asio::io_context io_;
  fakes::ManualClock clock_;
  AgentCore core_;
  TombstoneReaper reaper_;
};

TEST_F(TombstoneReaperTest, ReapsTombstonesOnlyOnceTheyAreTtlOld) {
  kv(catalog::KvOp::set, "app/keep");
  kv(catalog::KvOp::set, "app/old");
  const catalog::Index deleted = kv(catalog::KvOp::delete_key, "app/old");
  EXPECT_EQ(reaper_.tick(), 0u);  // notes the delete's time

  clock_.advance(10min);
  kv(catalog::KvOp::set, "app/young");
  const catalog::Index young_deleted = kv(catalog::KvOp::delete_key, "app/young");
  EXPECT_EQ(reaper_.tick(), 0u);

  clock_.advance(4min + 59s);
  EXPECT_EQ(reaper_.tick(), 0u);  // 14m59s: not yet
  EXPECT_EQ(core_.store().snapshot().kv_tombstones.size(), 2u);

  clock_.advance(1s);
  EXPECT_EQ(reaper_.tick(), deleted);  // 15m: the first delete goes, the young one stays
  EXPECT_EQ(core_.store().snapshot().kv_tombstones.count("app/old"), 0u);
  EXPECT_EQ(core_.store().snapshot().kv_tombstones.count("app/young"), 1u);
  EXPECT_GE(core_.store().kv_get("app/old").index, deleted);

  clock_.advance(10min);
  EXPECT_EQ(reaper_.tick(), young_deleted);
  EXPECT_TRUE(core_.store().snapshot().kv_tombstones.empty());
  // The newest change under app/ was the young delete; its index stays.
  EXPECT_GE(core_.store().kv_list("app/").index, young_deleted);
  EXPECT_EQ(reaper_.tick(), 0u);  // nothing left, and no empty reap is submitted
}

}  // namespace
}  // namespace roster::agent
