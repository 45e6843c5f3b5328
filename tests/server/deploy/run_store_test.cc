#include "server/deploy/run_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/fake_catalog_api.h"

namespace roster::deploy {
namespace {

using deploy_records::RunRecord;
using testing::ElementsAre;

TEST(RunIdTest, IsZeroPaddedAndParsesBack) {
  EXPECT_EQ(format_run_id(7), "000007");
  EXPECT_EQ(format_run_id(1234567), "1234567");
  EXPECT_EQ(parse_run_id("000007"), 7u);
  EXPECT_EQ(parse_run_id("lock"), 0u);
  EXPECT_EQ(parse_run_id(""), 0u);
}

TEST(RunStoreTest, ContinuesAfterTheHighestRunInTheCatalog) {
  fakes::FakeCatalogApi api;
  RunStore store(api);
  std::map<std::string, RunRecord> existing;
  existing["000002"].id = "000002";
  existing["000011"].id = "000011";
  existing["000005"].id = "000005";
  store.resume(existing);
  EXPECT_EQ(store.open({{"a", "h"}}, "test", 1000), "000012");
  EXPECT_EQ(store.open({{"a", "h"}}, "test", 1000), "000013");
}

TEST(RunStoreTest, StartsAtOneOnAnEmptyCatalog) {
  fakes::FakeCatalogApi api;
  RunStore store(api);
  store.resume({});
  EXPECT_EQ(store.open({{"a", "h"}}, "test", 1000), "000001");
}

TEST(RunStoreTest, RecordsOutcomesAndFinishesWhenEveryNodeAnswered) {
  fakes::FakeCatalogApi api;
  RunStore store(api);
  const std::string id = store.open({{"a", "h"}, {"b", "h"}}, "new desired bundle for a, b", 1000);
  EXPECT_TRUE(store.flush().is_ok());
  auto written = deploy_records::parse_run_record(*api.value("roster/deploy/runs/000001"));
  ASSERT_TRUE(written.is_ok());
  EXPECT_EQ(written->total, 2);
  EXPECT_EQ(written->nodes["a"].status, "pending");

  EXPECT_FALSE(store.record({EventKind::dispatched, "a", "", id, "h", 9, 0, ""}, 1100));
  EXPECT_FALSE(store.record({EventKind::applied, "a", "", id, "h", 9, 2, ""}, 1200));
  EXPECT_TRUE(store.record({EventKind::failed, "b", "", id, "h", 10, 0, "task 'x': boom"}, 1300));
  EXPECT_TRUE(store.flush().is_ok());
  written = deploy_records::parse_run_record(*api.value("roster/deploy/runs/000001"));
  ASSERT_TRUE(written.is_ok());
  EXPECT_EQ(written->done, 2);
  EXPECT_EQ(written->failed, 1);
  EXPECT_EQ(written->finished_unix_ms, 1300);
  EXPECT_EQ(written->nodes["a"].changed, 2);
  EXPECT_EQ(written->nodes["b"].error, "task 'x': boom");
}

TEST(RunStoreTest, KeepsOnlyTheLastRuns) {
  fakes::FakeCatalogApi api;
  RunStore store(api, 3);
  for (int i = 0; i < 5; ++i) {
    store.open({{"a", "h"}}, "test", 1000);
    EXPECT_TRUE(store.flush().is_ok());
  }
  EXPECT_THAT(api.keys("roster/deploy/runs/"),
              ElementsAre("roster/deploy/runs/000003", "roster/deploy/runs/000004", "roster/deploy/runs/000005"));
}

TEST(RunStoreTest, AFailedFlushIsRetriedByTheNext) {
  fakes::FakeCatalogApi api;
  RunStore store(api);
  store.open({{"a", "h"}}, "test", 1000);
  api.set_unreachable(true);
  EXPECT_FALSE(store.flush().is_ok());
  api.set_unreachable(false);
  EXPECT_TRUE(store.flush().is_ok());
  EXPECT_TRUE(api.value("roster/deploy/runs/000001").has_value());
}

}  // namespace
}  // namespace roster::deploy
