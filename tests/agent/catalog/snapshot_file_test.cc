#include "agent/catalog/snapshot_file.h"

#include <gtest/gtest.h>

#include "agent/catalog/codec.h"
#include "agent/catalog/state_store.h"
#include "tests/fakes/same_contents.h"

namespace roster::catalog {
namespace {

StoreData sample_data() {
  StateStore store;
  RegisterNode node;
  node.node.name = "web-1";
  node.node.address = "10.0.0.1";
  node.service = Service{};
  node.service->id = "web";
  node.service->name = "web";
  node.service->port = 80;
  Check check;
  check.check_id = "alive";
  check.service_id = "web";
  check.status = kPassing;
  node.checks = {check};
  EXPECT_TRUE(store.apply(1, Command{0, node}).is_ok());
  EXPECT_TRUE(store.apply(2, Command{0, KvCommand{KvOp::set, "app/config", "v1", 7, 0, ""}}).is_ok());
  Session session;
  session.id = "sess-1";
  session.node = "web-1";
  EXPECT_TRUE(store.apply(3, Command{0, CreateSession{session}}).is_ok());
  EXPECT_TRUE(store.apply(4, Command{0, KvCommand{KvOp::set, "app/gone", "x", 0, 0, ""}}).is_ok());
  EXPECT_TRUE(store.apply(5, Command{0, KvCommand{KvOp::delete_key, "app/gone", "", 0, 0, ""}}).is_ok());
  return store.snapshot();
}

using testing::expect_same_contents;

TEST(SnapshotFileTest, RoundTripsExactly) {
  const StoreData data = sample_data();
  const std::string bytes = encode_snapshot_file(data);
  EXPECT_EQ(bytes.substr(0, kSnapshotFileMagic.size()), kSnapshotFileMagic);
  auto decoded = decode_snapshot_file(bytes);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_TRUE(*decoded == data);
}

TEST(SnapshotFileTest, EmptyCatalogRoundTrips) {
  auto decoded = decode_snapshot_file(encode_snapshot_file(StoreData{}));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_TRUE(*decoded == StoreData{});
}

TEST(SnapshotFileTest, CorruptionIsRefused) {
  const std::string good = encode_snapshot_file(sample_data());
  auto refused = [](const std::string& bytes) {
    auto decoded = decode_snapshot_file(bytes);
    return !decoded.is_ok() && decoded.status().code() == StatusCode::invalid_argument;
  };
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("ROSTERSNAP1"));
  EXPECT_TRUE(refused("ROSTERSNAP2" + good.substr(kSnapshotFileMagic.size())));
  EXPECT_TRUE(refused(good.substr(0, good.size() - 1)));  // truncated
  EXPECT_TRUE(refused(good + "x"));                        // padded
  // Every single flipped byte, header or payload, is caught.
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_TRUE(refused(bad)) << "flipped byte " << i << " was accepted";
  }
  // A payload that is not a catalog, with a checksum that matches it.
  const std::string header_of_other = encode_snapshot_file(StoreData{});
  EXPECT_TRUE(refused(header_of_other.substr(0, kSnapshotFileMagic.size() + 8) + good.substr(kSnapshotFileMagic.size() + 8)));
}

TEST(RestoreCatalogTest, ReplacesEverythingAndWakesWatchers) {
  const StoreData snapshot = sample_data();
  StateStore store;
  RegisterNode other;
  other.node.name = "db-1";
  ASSERT_TRUE(store.apply(1, Command{0, other}).is_ok());
  ASSERT_TRUE(store.apply(2, Command{0, KvCommand{KvOp::set, "old/key", "x", 0, 0, ""}}).is_ok());
  for (Index index = 3; index <= 40; ++index) {
    ASSERT_TRUE(store.apply(index, Command{0, KvCommand{KvOp::set, "old/counter", std::to_string(index), 0, 0, ""}}).is_ok());
  }
  (void)store.take_changed_watch_keys();

  ASSERT_TRUE(store.apply(41, Command{0, RestoreCatalog{snapshot}}).is_ok());
  EXPECT_EQ(store.last_index(), 41u);
  expect_same_contents(store.snapshot(), snapshot);
  EXPECT_EQ(store.find_node("db-1"), nullptr);
  EXPECT_FALSE(store.kv_get("old/key").value.has_value());
  ASSERT_TRUE(store.kv_get("app/config").value.has_value());
  EXPECT_EQ(store.kv_get("app/config").value->value, "v1");

  // Watchers of what went and of what came both wake, and list queries
  // report the restore's index, past anything a client held before it.
  const std::vector<std::string> changed = store.take_changed_watch_keys();
  auto woke = [&](const std::string& key) { return std::find(changed.begin(), changed.end(), key) != changed.end(); };
  EXPECT_TRUE(woke(watch_key::node("db-1")));
  EXPECT_TRUE(woke(watch_key::node("web-1")));
  EXPECT_TRUE(woke(watch_key::kv("old/key")));
  EXPECT_TRUE(woke(watch_key::kv("app/config")));
  EXPECT_TRUE(woke(watch_key::kNodes));
  EXPECT_TRUE(woke(watch_key::kKvs));
  EXPECT_EQ(store.nodes().index, 41u);
  EXPECT_EQ(store.services().index, 41u);
  EXPECT_EQ(store.service_instances("web").index, 41u);
  EXPECT_EQ(store.kv_list("").index, 41u);
  EXPECT_EQ(store.kv_keys("app/", "").index, 41u);

  // Later writes go on from the restore's index.
  ASSERT_TRUE(store.apply(42, Command{0, KvCommand{KvOp::set, "app/new", "n", 0, 0, ""}}).is_ok());
  EXPECT_EQ(store.kv_get("app/new").value->modify_index, 42u);
}

TEST(RestoreCatalogTest, ThroughTheCommandCodecAppliesIdentically) {
  // Two servers applying the same encoded entry after the same log end with
  // the same store.
  const std::string entry = encode_command(Command{0, RestoreCatalog{sample_data()}});
  StateStore a;
  StateStore b;
  for (StateStore* store : {&a, &b}) {
    ASSERT_TRUE(store->apply(1, Command{0, KvCommand{KvOp::set, "before", "x", 0, 0, ""}}).is_ok());
  }
  for (StateStore* store : {&a, &b}) {
    auto command = decode_command(entry);
    ASSERT_TRUE(command.is_ok()) << command.status().to_string();
    ASSERT_TRUE(store->apply(7, *command).is_ok());
  }
  EXPECT_TRUE(a.snapshot() == b.snapshot());
}

}  // namespace
}  // namespace roster::catalog
