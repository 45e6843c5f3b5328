#include "server/deploy/catalog_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace roster::deploy {
namespace {

using testing::HasSubstr;
using testing::SizeIs;

NodeList list(std::vector<std::string> names) {
  NodeList out;
  out.index = 7;
  for (const auto& name : names) out.nodes.push_back({name, "id-" + name, "10.0.0.1", {{"role", "web"}}});
  return out;
}

TEST(CatalogViewTest, IsNotReadyUntilBothReadsArrived) {
  CatalogView view;
  EXPECT_FALSE(view.ready());
  EXPECT_TRUE(view.on_nodes(list({"a"})).changed);
  EXPECT_FALSE(view.ready());
  EXPECT_TRUE(view.on_kv(KvTree{3, {}}).changed);
  EXPECT_TRUE(view.ready());
}

TEST(CatalogViewTest, AnEmptyCatalogAtStartIsNothingToPlanFrom) {
  CatalogView view;
  EXPECT_FALSE(view.on_nodes(list({})).changed);
  (void)view.on_kv(KvTree{});
  EXPECT_FALSE(view.ready());
}

TEST(CatalogViewTest, HoldsTheLastGoodViewWhenTheCatalogIsUnreachableAndSaysSoOnce) {
  CatalogView view;
  (void)view.on_nodes(list({"a", "b"}));
  auto failed = view.on_nodes(Status::unavailable("connection refused"));
  EXPECT_FALSE(failed.changed);
  ASSERT_THAT(failed.logs, SizeIs(1));
  EXPECT_TRUE(failed.logs[0].warning);
  EXPECT_THAT(failed.logs[0].message, HasSubstr("connection refused"));
  EXPECT_THAT(failed.logs[0].message, HasSubstr("holding the last good view of 2 nodes"));
  EXPECT_TRUE(view.nodes_outage());
  EXPECT_THAT(view.on_nodes(Status::unavailable("connection refused")).logs, SizeIs(0)) << "once per outage";
  EXPECT_THAT(view.nodes().nodes, SizeIs(2));

  auto back = view.on_nodes(list({"a", "b"}));
  EXPECT_FALSE(back.changed);
  ASSERT_THAT(back.logs, SizeIs(1));
  EXPECT_FALSE(back.logs[0].warning);
  EXPECT_FALSE(view.nodes_outage());
}

TEST(CatalogViewTest, NeverTakesAnEmptyNodeListAfterANonEmptyOne) {
  CatalogView view;
  (void)view.on_nodes(list({"a", "b"}));
  auto empty = view.on_nodes(list({}));
  EXPECT_FALSE(empty.changed);
  ASSERT_THAT(empty.logs, SizeIs(1));
  EXPECT_THAT(empty.logs[0].message, HasSubstr("returned no nodes"));
  EXPECT_THAT(view.nodes().nodes, SizeIs(2));
  EXPECT_TRUE(view.on_nodes(list({"a"})).changed) << "a smaller list is a real change";
  EXPECT_THAT(view.nodes().nodes, SizeIs(1));
}

TEST(CatalogViewTest, HoldsTheRecordsWhenTheKvIsUnreadable) {
  CatalogView view;
  (void)view.on_kv(KvTree{4, {{"roster/deploy/state/a", "{}", 4, ""}}});
  auto failed = view.on_kv(Status::unavailable("timeout"));
  ASSERT_THAT(failed.logs, SizeIs(1));
  EXPECT_TRUE(view.kv_outage());
  EXPECT_THAT(view.kv().entries, SizeIs(1));
  EXPECT_FALSE(view.on_kv(KvTree{4, {{"roster/deploy/state/a", "{}", 4, ""}}}).changed);
  EXPECT_FALSE(view.kv_outage());
}

}  // namespace
}  // namespace roster::deploy
