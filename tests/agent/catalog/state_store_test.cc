#include "agent/catalog/state_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "agent/catalog/codec.h"

namespace roster::catalog {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int64_t kSecond = 1'000'000'000;

RegisterNode node_command(const std::string& name, const std::string& address = "10.0.0.1",
                          const std::string& id = "") {
  RegisterNode command;
  command.node.name = name;
  command.node.address = address;
  command.node.id = id;
  command.node.datacenter = "dc1";
  return command;
}

Service make_service(const std::string& name, int port = 80, std::vector<std::string> tags = {}) {
  Service service;
  service.name = name;
  service.port = port;
  service.tags = std::move(tags);
  return service;
}

Check make_check(const std::string& id, const std::string& status, const std::string& service_id = "") {
  Check check;
  check.check_id = id;
  check.name = id;
  check.status = status;
  check.service_id = service_id;
  return check;
}

Session make_session(const std::string& id, const std::string& node, std::vector<std::string> node_checks = {},
                     const std::string& behavior = "release", int64_t lock_delay_ns = 0) {
  Session session;
  session.id = id;
  session.node = node;
  session.node_checks = std::move(node_checks);
  session.behavior = behavior;
  session.lock_delay_ns = lock_delay_ns;
  return session;
}

KvCommand kv(KvOp op, const std::string& key, const std::string& value = "", Index cas = 0,
             const std::string& session = "") {
  KvCommand command;
  command.op = op;
  command.key = key;
  command.value = value;
  command.cas_index = cas;
  command.session = session;
  return command;
}

class StateStoreTest : public ::testing::Test {
 protected:
  Status apply(CommandBody body, int64_t time_ns = 0) {
    return store_.apply(++index_, Command{time_ns, std::move(body)});
  }
  // Applies and asserts success; returns the index it was applied at.
  Index must(CommandBody body, int64_t time_ns = 0) {
    Status status = apply(std::move(body), time_ns);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    return index_;
  }
  // The failing command must change nothing but last_index.
  void expect_rejected(CommandBody body, StatusCode code, const std::string& message_part = "") {
    StoreData before = store_.snapshot();
    (void)store_.take_changed_watch_keys();
    Status status = apply(std::move(body));
    EXPECT_EQ(status.code(), code) << status.to_string();
    if (!message_part.empty()) {
      EXPECT_THAT(status.message(), HasSubstr(message_part));
    }
    StoreData after = store_.snapshot();
    EXPECT_EQ(after.last_index, index_);
    after.last_index = before.last_index;
    EXPECT_TRUE(after == before) << "a failed command changed the store";
    EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());
  }
  void register_web(const std::string& node, const std::string& check_status = kPassing) {
    RegisterNode command = node_command(node);
    command.service = make_service("web", 80, {"v1"});
    command.checks.push_back(make_check("serfHealth", kPassing));
    command.checks.push_back(make_check("web-alive", check_status, "web"));
    must(command);
  }

  StateStore store_;
  Index index_ = 0;
};

// --- register / deregister -------------------------------------------------

TEST_F(StateStoreTest, RegisterCreatesNodeServiceAndChecks) {
  RegisterNode command = node_command("n1", "10.0.0.1", "id-1");
  command.service = make_service("web", 8080, {"v1"});
  command.checks.push_back(make_check("alive", "", "web"));
  Index at = must(command);

  const Node* node = store_.find_node("n1");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->address, "10.0.0.1");
  EXPECT_EQ(node->create_index, at);
  EXPECT_EQ(store_.find_node_by_id("id-1"), node);

  auto services = store_.node_services("n1");
  ASSERT_EQ(services.value.size(), 1u);
  EXPECT_EQ(services.value[0].id, "web");  // defaults to the name
  EXPECT_EQ(services.value[0].node, "n1");
  EXPECT_EQ(services.value[0].port, 8080);

  const Check* check = store_.find_check("n1", "alive");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->status, kCritical);  // the default
  EXPECT_EQ(check->service_name, "web");
  EXPECT_THAT(check->service_tags, ElementsAre("v1"));
  EXPECT_EQ(check->node, "n1");

  auto health = store_.service_health("web");
  ASSERT_EQ(health.value.size(), 1u);
  EXPECT_EQ(health.value[0].node.name, "n1");
  EXPECT_EQ(health.value[0].checks.size(), 1u);
  EXPECT_EQ(store_.services().value.at("web"), std::vector<std::string>{"v1"});
}

TEST_F(StateStoreTest, DuplicateNodeNameOrIdIsAConflict) {
  must(node_command("web-1", "10.0.0.1", "aaaa"));
  expect_rejected(node_command("web-1", "10.0.0.2", "bbbb"), StatusCode::conflict,
                  "node name web-1 is already registered with ID aaaa");
  expect_rejected(node_command("web-2", "10.0.0.2", "aaaa"), StatusCode::conflict, "aaaa");
  // A client that does not know the ID may still update the node.
  must(node_command("web-1", "10.0.0.9"));
  EXPECT_EQ(store_.find_node("web-1")->id, "aaaa");
  EXPECT_EQ(store_.find_node("web-1")->address, "10.0.0.9");
}

// A node that already holds its ID skips the search for another holder (an
// agent re-registers its node with every service); the search still runs
// whenever the ID would be new to the node.
TEST_F(StateStoreTest, ReRegisteringWithItsOwnIdSucceedsAndTakingAnotherStillConflicts) {
  must(node_command("web-1", "10.0.0.1", "aaaa"));
  must(node_command("web-2", "10.0.0.2", "bbbb"));
  RegisterNode again = node_command("web-1", "10.0.0.1", "aaaa");
  again.service = make_service("api", 9090, {});
  must(again);
  EXPECT_EQ(store_.node_services("web-1").value.size(), 1u);
  expect_rejected(node_command("web-4", "10.0.0.4", "aaaa"), StatusCode::conflict,
                  "node ID aaaa is already registered to node web-1");
  must(node_command("web-3", "10.0.0.3"));  // no ID yet
  expect_rejected(node_command("web-3", "10.0.0.3", "bbbb"), StatusCode::conflict, "web-2");
  must(node_command("web-3", "10.0.0.3", "cccc"));
  EXPECT_EQ(store_.find_node_by_id("cccc"), store_.find_node("web-3"));
}

TEST_F(StateStoreTest, InvalidRegistrationsChangeNothing) {
  must(node_command("n1"));
  RegisterNode unknown_service = node_command("n2");
  unknown_service.checks.push_back(make_check("c", kPassing, "nope"));
  expect_rejected(unknown_service, StatusCode::invalid_argument, "nope");
  EXPECT_EQ(store_.find_node("n2"), nullptr);

  RegisterNode bad_status = node_command("n1", "10.9.9.9");
  bad_status.checks.push_back(make_check("c", "sleepy"));
  expect_rejected(bad_status, StatusCode::invalid_argument, "sleepy");

  RegisterNode skip = node_command("ghost");
  skip.skip_node_update = true;
  expect_rejected(skip, StatusCode::not_found);

  expect_rejected(node_command(""), StatusCode::invalid_argument);
}

TEST_F(StateStoreTest, SkipNodeUpdateLeavesNodeFieldsAlone) {
  must(node_command("n1", "10.0.0.1"));
  Index node_index = store_.find_node("n1")->modify_index;
  RegisterNode command = node_command("n1", "10.7.7.7");
  command.skip_node_update = true;
  command.service = make_service("db", 5432);
  Index at = must(command);
  EXPECT_EQ(store_.find_node("n1")->address, "10.0.0.1");
  EXPECT_EQ(store_.node_services("n1").value.size(), 1u);
  EXPECT_GT(at, node_index);
}

TEST_F(StateStoreTest, IdenticalReRegistrationBumpsNothingAndWakesNobody) {
  register_web("n1");
  const StoreData before = store_.snapshot();
  (void)store_.take_changed_watch_keys();

  RegisterNode command = node_command("n1");
  command.service = make_service("web", 80, {"v1"});
  command.checks.push_back(make_check("serfHealth", kPassing));
  command.checks.push_back(make_check("web-alive", kPassing, "web"));
  must(command);

  StoreData after = store_.snapshot();
  EXPECT_EQ(after.last_index, before.last_index + 1);
  after.last_index = before.last_index;
  EXPECT_TRUE(after == before);
  EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());
}

TEST_F(StateStoreTest, ChangedServiceBumpsOnlyWhatChanged) {
  register_web("n1");
  Index node_created = store_.find_node("n1")->create_index;
  (void)store_.take_changed_watch_keys();

  RegisterNode command = node_command("n1");
  command.skip_node_update = true;
  command.service = make_service("web", 81, {"v1"});
  Index at = must(command);

  EXPECT_EQ(store_.service_instances("web").index, at);
  EXPECT_EQ(store_.snapshot().table_indexes.at("services"), at);
  EXPECT_EQ(store_.node("n1").index, at);  // a node's index covers its services
  EXPECT_NE(store_.snapshot().table_indexes.at("nodes"), at);
  EXPECT_EQ(store_.find_node("n1")->create_index, node_created);
  auto changed = store_.take_changed_watch_keys();
  EXPECT_THAT(changed, Contains(watch_key::service("web")));
  EXPECT_THAT(changed, Contains(watch_key::node("n1")));
  EXPECT_THAT(changed, Contains(std::string(watch_key::kServices)));
  EXPECT_THAT(changed, Not(Contains(std::string(watch_key::kNodes))));
  EXPECT_THAT(changed, Not(Contains(std::string(watch_key::kChecks))));
}

// As in Consul, a node's ModifyIndex moves only when the node changes, so
// /v1/catalog/nodes never lists a ModifyIndex above its own index; the node's
// own query index still covers its services and checks.
TEST_F(StateStoreTest, ServiceAndCheckWritesLeaveTheNodesModifyIndexAlone) {
  Index registered = must(node_command("n1"));
  RegisterNode service = node_command("n1");
  service.skip_node_update = true;
  service.service = make_service("web");
  must(service);
  RegisterNode check = node_command("n1");
  check.skip_node_update = true;
  check.checks.push_back(make_check("alive", kPassing, "web"));
  Index check_at = must(check);

  auto nodes = store_.nodes();
  ASSERT_EQ(nodes.value.size(), 1u);
  EXPECT_EQ(nodes.index, registered);
  EXPECT_EQ(nodes.value[0].modify_index, registered);
  EXPECT_LE(nodes.value[0].modify_index, nodes.index);
  EXPECT_EQ(store_.node("n1").index, check_at);
  EXPECT_EQ(store_.node_checks("n1").index, check_at);

  Index removed = must(DeregisterNode{"n1", "web", ""});
  EXPECT_EQ(store_.node("n1").index, removed);
  EXPECT_EQ(store_.find_node("n1")->modify_index, registered);
  Index moved = must(node_command("n1", "10.0.0.2"));
  EXPECT_EQ(store_.find_node("n1")->modify_index, moved);
  EXPECT_EQ(store_.nodes().index, moved);
  EXPECT_EQ(store_.node("n1").index, moved);
}

TEST_F(StateStoreTest, DeregisterServiceRemovesItsChecks) {
  register_web("n1");
  Index at = must(DeregisterNode{"n1", "web", ""});
  EXPECT_TRUE(store_.node_services("n1").value.empty());
  EXPECT_EQ(store_.find_check("n1", "web-alive"), nullptr);
  EXPECT_NE(store_.find_check("n1", "serfHealth"), nullptr);
  EXPECT_EQ(store_.service_instances("web").index, at);
  EXPECT_TRUE(store_.service_instances("web").value.empty());
  // Deregistering what is gone succeeds and changes nothing.
  (void)store_.take_changed_watch_keys();
  must(DeregisterNode{"n1", "web", ""});
  must(DeregisterNode{"ghost", "", ""});
  EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());
}

TEST_F(StateStoreTest, DeregisterCheckAndNode) {
  register_web("n1");
  register_web("n2");
  must(DeregisterNode{"n1", "", "serfHealth"});
  EXPECT_EQ(store_.find_check("n1", "serfHealth"), nullptr);
  EXPECT_EQ(store_.node_checks("n1").value.size(), 1u);

  must(CreateSession{make_session("s1", "n1")});
  must(kv(KvOp::lock, "leader", "n1", 0, "s1"));
  Index at = must(DeregisterNode{"n1", "", ""});
  EXPECT_EQ(store_.find_node("n1"), nullptr);
  EXPECT_TRUE(store_.node_checks("n1").value.empty());
  EXPECT_FALSE(store_.session("s1").value.has_value());
  EXPECT_EQ(store_.kv_get("leader").value->session, "");
  EXPECT_EQ(store_.service_instances("web").value.size(), 1u);
  EXPECT_EQ(store_.service_instances("web").index, at);
  EXPECT_EQ(store_.nodes().index, at);
  EXPECT_EQ(store_.nodes().value.size(), 1u);
}

// --- tags ------------------------------------------------------------------

TEST_F(StateStoreTest, TagLayersMergeHighestFirst) {
  RegisterNode command = node_command("n1");
  command.image_tags = TagMap{{"role", "base"}, {"zone", "a"}, {"os", "debian"}};
  command.runtime_tags = TagMap{{"role", "web"}, {"zone", "b"}};
  command.operator_tags = TagMap{{"role", "db"}};
  must(command);
  EXPECT_EQ(store_.find_node("n1")->tags.merged(),
            (TagMap{{"role", "db"}, {"zone", "b"}, {"os", "debian"}}));

  // A layer in a registration replaces that layer only, wholesale.
  RegisterNode resync = node_command("n1");
  resync.image_tags = TagMap{{"os", "bookworm"}};
  must(resync);
  const NodeTags& tags = store_.find_node("n1")->tags;
  EXPECT_EQ(tags.image_tags, (TagMap{{"os", "bookworm"}}));
  EXPECT_EQ(tags.operator_tags, (TagMap{{"role", "db"}}));
  EXPECT_EQ(tags.layer(TagLayer::runtime_layer), (TagMap{{"role", "web"}, {"zone", "b"}}));
  EXPECT_STREQ(tag_layer_name(TagLayer::operator_layer), "operator");
  EXPECT_STREQ(tag_layer_name(TagLayer::image_layer), "image");
}

TEST_F(StateStoreTest, UpdateTagsOnOneLayer) {
  register_web("n1");
  expect_rejected(UpdateTags{"ghost", TagLayer::operator_layer, {{"a", "b"}}, {}}, StatusCode::not_found);
  Index at = must(UpdateTags{"n1", TagLayer::runtime_layer, {{"stage", "2"}, {"role", "web"}}, {}});
  EXPECT_EQ(store_.find_node("n1")->tags.runtime_tags.at("stage"), "2");
  EXPECT_EQ(store_.node("n1").index, at);
  // The service listing embeds the node, so its index moves with the tags.
  EXPECT_EQ(store_.service_instances("web").index, at);

  must(UpdateTags{"n1", TagLayer::runtime_layer, {}, {"stage"}});
  EXPECT_EQ(store_.find_node("n1")->tags.runtime_tags, (TagMap{{"role", "web"}}));

  (void)store_.take_changed_watch_keys();
  Index before = store_.node("n1").index;
  must(UpdateTags{"n1", TagLayer::runtime_layer, {{"role", "web"}}, {"absent"}});
  EXPECT_EQ(store_.node("n1").index, before);
  EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());
}

// --- checks ----------------------------------------------------------------

TEST_F(StateStoreTest, UpdateCheckWritesOnlyChanges) {
  register_web("n1");
  expect_rejected(UpdateCheck{"n1", "nope", kPassing, ""}, StatusCode::not_found);
  expect_rejected(UpdateCheck{"n1", "web-alive", "bogus", ""}, StatusCode::invalid_argument);

  Index instances_before = store_.service_instances("web").index;
  (void)store_.take_changed_watch_keys();
  must(UpdateCheck{"n1", "web-alive", kPassing, ""});
  EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());

  Index at = must(UpdateCheck{"n1", "web-alive", kWarning, "slow"});
  EXPECT_EQ(store_.find_check("n1", "web-alive")->status, kWarning);
  EXPECT_EQ(store_.find_check("n1", "web-alive")->output, "slow");
  EXPECT_EQ(store_.service_health("web").index, at);
  EXPECT_EQ(store_.service_checks("web").index, at);
  EXPECT_EQ(store_.service_instances("web").index, instances_before);
  EXPECT_EQ(store_.checks_in_state(kWarning).value.size(), 1u);
  EXPECT_EQ(store_.checks_in_state("any").value.size(), 2u);
  auto changed = store_.take_changed_watch_keys();
  EXPECT_THAT(changed, Contains(watch_key::service_health("web")));
  EXPECT_THAT(changed, Not(Contains(watch_key::service("web"))));

  // A node-level check counts toward every service on the node.
  at = must(UpdateCheck{"n1", "serfHealth", kWarning, ""});
  EXPECT_EQ(store_.service_health("web").index, at);
}

TEST_F(StateStoreTest, CheckGoingCriticalInvalidatesSessions) {
  register_web("n1");
  must(CreateSession{make_session("s1", "n1", {"serfHealth"})});
  Session service_bound = make_session("s2", "n1");
  service_bound.service_checks = {"web-alive"};
  must(CreateSession{service_bound});
  must(CreateSession{make_session("s3", "n1")});
  must(kv(KvOp::lock, "lock/a", "x", 0, "s1"));

  must(UpdateCheck{"n1", "serfHealth", kCritical, "dead"});
  EXPECT_FALSE(store_.session("s1").value.has_value());
  EXPECT_TRUE(store_.session("s2").value.has_value());
  EXPECT_EQ(store_.kv_get("lock/a").value->session, "");

  must(UpdateCheck{"n1", "web-alive", kCritical, ""});
  EXPECT_FALSE(store_.session("s2").value.has_value());
  EXPECT_TRUE(store_.session("s3").value.has_value());
}

// --- KV --------------------------------------------------------------------

TEST_F(StateStoreTest, KvSetCasAndDelete) {
  EXPECT_EQ(store_.kv_get("a").index, 1u);
  EXPECT_FALSE(store_.kv_get("a").value.has_value());

  Index set_at = must(kv(KvOp::set, "a", "1"));
  auto got = store_.kv_get("a");
  ASSERT_TRUE(got.value.has_value());
  EXPECT_EQ(got.value->value, "1");
  EXPECT_EQ(got.index, set_at);
  EXPECT_EQ(got.value->create_index, set_at);

  expect_rejected(kv(KvOp::cas, "a", "2", 0), StatusCode::conflict);
  expect_rejected(kv(KvOp::cas, "a", "2", set_at + 100), StatusCode::conflict);
  Index cas_at = must(kv(KvOp::cas, "a", "2", set_at));
  EXPECT_EQ(store_.kv_get("a").value->value, "2");
  EXPECT_EQ(store_.kv_get("a").value->create_index, set_at);
  must(kv(KvOp::cas, "b", "new", 0));
  EXPECT_EQ(store_.kv_get("b").value->value, "new");

  expect_rejected(kv(KvOp::delete_cas, "a", "", set_at), StatusCode::conflict);
  Index deleted_at = must(kv(KvOp::delete_cas, "a", "", cas_at));
  EXPECT_FALSE(store_.kv_get("a").value.has_value());
  EXPECT_EQ(store_.kv_get("a").index, deleted_at);  // the tombstone
  EXPECT_EQ(store_.snapshot().kv_tombstones.at("a"), deleted_at);

  Index del_b = must(kv(KvOp::delete_key, "b"));
  EXPECT_EQ(store_.kv_get("b").index, del_b);
  expect_rejected(kv(KvOp::set, ""), StatusCode::invalid_argument);

  // Writing the same value again is a no-op.
  Index again = must(kv(KvOp::set, "c", "v"));
  (void)store_.take_changed_watch_keys();
  must(kv(KvOp::set, "c", "v"));
  EXPECT_EQ(store_.kv_get("c").index, again);
  EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());
}

TEST_F(StateStoreTest, KvTreeListKeysAndDeleteTree) {
  must(kv(KvOp::set, "app/a", "1"));
  must(kv(KvOp::set, "app/b/c", "2"));
  must(kv(KvOp::set, "app/b/d", "3"));
  Index last = must(kv(KvOp::set, "other", "4"));

  EXPECT_EQ(store_.kv_list("app/").value.size(), 3u);
  EXPECT_EQ(store_.kv_list("app/").index, last - 1);
  EXPECT_EQ(store_.kv_list("").value.size(), 4u);
  EXPECT_THAT(store_.kv_keys("app/", "/").value, ElementsAre("app/a", "app/b/"));
  EXPECT_THAT(store_.kv_keys("app/", "").value, ElementsAre("app/a", "app/b/c", "app/b/d"));
  EXPECT_EQ(store_.kv_list("missing/").index, 1u);

  Index deleted = must(kv(KvOp::delete_tree, "app/b"));
  EXPECT_THAT(store_.kv_keys("", "").value, ElementsAre("app/a", "other"));
  EXPECT_EQ(store_.kv_list("app/").index, deleted);  // tombstones count
  EXPECT_EQ(store_.kv_get("app/b/c").index, deleted);
  EXPECT_EQ(store_.kv_get("other").index, last);
}

TEST_F(StateStoreTest, KvLockAndUnlock) {
  must(node_command("n1"));
  must(CreateSession{make_session("s1", "n1")});
  must(CreateSession{make_session("s2", "n1")});

  expect_rejected(kv(KvOp::lock, "leader", "x", 0, ""), StatusCode::invalid_argument);
  expect_rejected(kv(KvOp::lock, "leader", "x", 0, "nope"), StatusCode::invalid_argument);
  must(kv(KvOp::lock, "leader", "one", 0, "s1"));
  auto entry = *store_.kv_get("leader").value;
  EXPECT_EQ(entry.session, "s1");
  EXPECT_EQ(entry.lock_index, 1u);

  expect_rejected(kv(KvOp::lock, "leader", "two", 0, "s2"), StatusCode::conflict, "s1");
  must(kv(KvOp::lock, "leader", "one-again", 0, "s1"));  // re-acquire by the holder
  entry = *store_.kv_get("leader").value;
  EXPECT_EQ(entry.lock_index, 1u);
  EXPECT_EQ(entry.value, "one-again");

  // A plain set keeps the holder, as in Consul.
  must(kv(KvOp::set, "leader", "plain"));
  EXPECT_EQ(store_.kv_get("leader").value->session, "s1");

  expect_rejected(kv(KvOp::unlock, "leader", "", 0, "s2"), StatusCode::conflict);
  must(kv(KvOp::unlock, "leader", "released", 0, "s1"));
  entry = *store_.kv_get("leader").value;
  EXPECT_EQ(entry.session, "");
  EXPECT_EQ(entry.lock_index, 1u);
  EXPECT_EQ(entry.value, "released");

  must(kv(KvOp::lock, "leader", "two", 0, "s2"));
  EXPECT_EQ(store_.kv_get("leader").value->lock_index, 2u);
}

TEST_F(StateStoreTest, LockDelayBlocksNewHoldersAfterInvalidation) {
  must(node_command("n1"));
  must(CreateSession{make_session("s1", "n1", {}, "release", 10 * kSecond)});
  must(CreateSession{make_session("s2", "n1")});
  must(kv(KvOp::lock, "leader", "one", 0, "s1"), 100 * kSecond);
  must(DestroySession{"s1"}, 200 * kSecond);
  EXPECT_EQ(store_.snapshot().kv_lock_delays.at("leader"), 210 * kSecond);

  StoreData before = store_.snapshot();
  EXPECT_EQ(apply(kv(KvOp::lock, "leader", "two", 0, "s2"), 205 * kSecond).code(), StatusCode::conflict);
  StoreData after = store_.snapshot();
  after.last_index = before.last_index;
  EXPECT_TRUE(after == before);

  must(kv(KvOp::lock, "leader", "two", 0, "s2"), 211 * kSecond);
  EXPECT_EQ(store_.kv_get("leader").value->session, "s2");
  EXPECT_EQ(store_.kv_get("leader").value->lock_index, 2u);
}

// Consul's MaxLockDelay: no session locks a key away for longer than 60 s,
// and no delay, however large, overflows the deadline.
TEST_F(StateStoreTest, LockDelayIsCappedAtSixtySecondsWithoutOverflow) {
  must(node_command("n1"));
  must(CreateSession{make_session("huge", "n1", {}, "release", std::numeric_limits<int64_t>::max())});
  EXPECT_EQ(store_.session("huge").value->lock_delay_ns, kMaxLockDelayNs);
  must(CreateSession{make_session("s2", "n1")});
  must(kv(KvOp::lock, "leader", "one", 0, "huge"), 100 * kSecond);
  must(DestroySession{"huge"}, 200 * kSecond);
  EXPECT_EQ(store_.snapshot().kv_lock_delays.at("leader"), 260 * kSecond);
  EXPECT_EQ(apply(kv(KvOp::lock, "leader", "two", 0, "s2"), 259 * kSecond).code(), StatusCode::conflict);
  must(kv(KvOp::lock, "leader", "two", 0, "s2"), 260 * kSecond);

  // A session restored from an older snapshot may carry any delay.
  StoreData data = store_.snapshot();
  Session old = make_session("old", "n1", {}, "release", std::numeric_limits<int64_t>::max());
  data.sessions["old"] = old;
  data.kvs["leader"].session = "old";
  store_.restore(data);
  index_ = store_.last_index();
  must(DestroySession{"old"}, std::numeric_limits<int64_t>::max() - kSecond);
  EXPECT_EQ(store_.snapshot().kv_lock_delays.at("leader"), std::numeric_limits<int64_t>::max());
}

// Consul's graveyard: tombstones go once reaped, from memory and snapshots,
// and no KV index goes backwards for it.
TEST_F(StateStoreTest, ReapedTombstonesLeaveAFloorSoNoIndexGoesBackwards) {
  must(kv(KvOp::set, "app/keep"));
  must(kv(KvOp::set, "app/old"));
  must(kv(KvOp::set, "app/sub/deep"));
  Index deep_deleted = must(kv(KvOp::delete_key, "app/sub/deep"));
  Index old_deleted = must(kv(KvOp::delete_key, "app/old"));
  must(kv(KvOp::set, "app/young"));
  Index young_deleted = must(kv(KvOp::delete_key, "app/young"));
  must(kv(KvOp::set, "other"));
  must(kv(KvOp::delete_key, "other"));
  ASSERT_EQ(store_.kv_list("app/").index, young_deleted);
  ASSERT_EQ(store_.kv_get("app/old").index, old_deleted);

  (void)store_.take_changed_watch_keys();
  must(ReapKvTombstones{old_deleted});
  EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());  // nothing a reader sees changed
  const StoreData& data = store_.snapshot();
  EXPECT_EQ(data.kv_tombstones.count("app/old"), 0u);
  EXPECT_EQ(data.kv_tombstones.count("app/sub/deep"), 0u);
  EXPECT_EQ(data.kv_tombstones.count("app/young"), 1u);  // newer than up_to
  EXPECT_EQ(data.kv_tombstones.count("other"), 1u);
  EXPECT_EQ(store_.kv_list("app/").index, young_deleted);
  EXPECT_GE(store_.kv_get("app/old").index, old_deleted);
  EXPECT_GE(store_.kv_list("app/o").index, old_deleted);   // a prefix ending inside the key
  EXPECT_GE(store_.kv_keys("app/s", "/").index, deep_deleted);
  EXPECT_GE(store_.kv_list("app/sub/").index, deep_deleted);
  EXPECT_EQ(store_.kv_list("db/").index, 1u);  // floors stay in their directories

  must(ReapKvTombstones{store_.last_index()});
  EXPECT_TRUE(store_.snapshot().kv_tombstones.empty());
  // The newest change under app/ was a reaped delete: its index stays.
  EXPECT_EQ(store_.kv_list("app/").index, young_deleted);
  EXPECT_EQ(store_.kv_keys("app/", "").index, young_deleted);
  EXPECT_GE(store_.kv_get("app/young").index, young_deleted);
  EXPECT_GE(store_.kv_list("").index, young_deleted);

  // Snapshots carry the floors, not the reaped keys.
  auto decoded = decode_snapshot(encode_snapshot(store_.snapshot()));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_TRUE(decoded->kv_tombstones.empty());
  StateStore restored;
  restored.restore(std::move(decoded).value());
  EXPECT_EQ(restored.kv_list("app/").index, young_deleted);
  EXPECT_TRUE(restored.snapshot() == store_.snapshot());
}

// --- sessions --------------------------------------------------------------

TEST_F(StateStoreTest, DestroySessionReleasesOrDeletes) {
  must(node_command("n1"));
  must(CreateSession{make_session("rel", "n1", {}, "release")});
  must(CreateSession{make_session("del", "n1", {}, "delete")});
  must(kv(KvOp::lock, "a", "kept", 0, "rel"));
  must(kv(KvOp::lock, "b", "gone", 0, "del"));

  Index destroyed_rel = must(DestroySession{"rel"});
  auto a = store_.kv_get("a");
  ASSERT_TRUE(a.value.has_value());
  EXPECT_EQ(a.value->value, "kept");
  EXPECT_EQ(a.value->session, "");
  EXPECT_EQ(a.index, destroyed_rel);
  EXPECT_EQ(store_.snapshot().kv_lock_delays.count("a"), 0u);  // no lock delay set

  Index destroyed_del = must(DestroySession{"del"});
  EXPECT_FALSE(store_.kv_get("b").value.has_value());
  EXPECT_EQ(store_.kv_get("b").index, destroyed_del);
  EXPECT_TRUE(store_.sessions().value.empty());
  EXPECT_EQ(store_.sessions().index, destroyed_del);
  EXPECT_EQ(store_.session("del").index, destroyed_del);
}

TEST_F(StateStoreTest, CreateSessionValidates) {
  register_web("n1", kCritical);
  expect_rejected(CreateSession{make_session("s", "ghost")}, StatusCode::invalid_argument, "ghost");
  expect_rejected(CreateSession{make_session("s", "n1", {"missing"})}, StatusCode::invalid_argument, "missing");
  Session critical = make_session("s", "n1");
  critical.service_checks = {"web-alive"};
  expect_rejected(CreateSession{critical}, StatusCode::invalid_argument, "critical");
  expect_rejected(CreateSession{make_session("s", "n1", {}, "explode")}, StatusCode::invalid_argument);
  expect_rejected(CreateSession{make_session("", "n1")}, StatusCode::invalid_argument);

  Index at = must(CreateSession{make_session("s", "n1", {"serfHealth"})});
  auto got = store_.session("s");
  ASSERT_TRUE(got.value.has_value());
  EXPECT_EQ(got.index, at);
  EXPECT_EQ(got.value->create_index, at);
  EXPECT_EQ(store_.node_sessions("n1").value.size(), 1u);
  expect_rejected(CreateSession{make_session("s", "n1")}, StatusCode::invalid_argument, "exists");
}

// --- per-key indexes and watch keys ---------------------------------------

TEST_F(StateStoreTest, IndexesArePerKey) {
  Index a_at = must(kv(KvOp::set, "a", "1"));
  must(kv(KvOp::set, "b", "1"));
  must(kv(KvOp::set, "b", "2"));
  EXPECT_EQ(store_.kv_get("a").index, a_at);
  EXPECT_GT(store_.kv_get("b").index, a_at);

  register_web("n1");
  Index web_index = store_.service_instances("web").index;
  Index n1_index = store_.node("n1").index;
  RegisterNode db = node_command("n2");
  db.service = make_service("db", 5432);
  must(db);
  must(UpdateTags{"n2", TagLayer::operator_layer, {{"role", "db"}}, {}});
  EXPECT_EQ(store_.service_instances("web").index, web_index);
  EXPECT_EQ(store_.service_health("web").index, web_index);
  EXPECT_EQ(store_.node("n1").index, n1_index);
  EXPECT_EQ(store_.node_checks("n1").index, n1_index);
  EXPECT_GT(store_.service_instances("db").index, web_index);
  EXPECT_EQ(store_.service_instances("never").index, 1u);
}

TEST_F(StateStoreTest, QueriesReportWatchKeysThatApplyMatches) {
  register_web("n1");
  must(kv(KvOp::set, "app/a", "1"));
  WatchKeys kv_watch;
  (void)store_.kv_get("app/a", &kv_watch);
  EXPECT_EQ(kv_watch, WatchKeys{watch_key::kv("app/a")});

  WatchKeys tree_watch;
  (void)store_.kv_list("app/", &tree_watch);
  EXPECT_EQ(tree_watch, WatchKeys{watch_key::kv_prefix("app/")});

  WatchKeys health_watch;
  (void)store_.service_health("web", &health_watch);
  EXPECT_EQ(health_watch, (WatchKeys{watch_key::service("web"), watch_key::service_health("web")}));

  WatchKeys node_watch;
  (void)store_.node("n1", &node_watch);
  (void)store_.nodes(&node_watch);
  EXPECT_EQ(node_watch, (WatchKeys{watch_key::node("n1"), watch_key::kNodes}));

  (void)store_.take_changed_watch_keys();
  must(kv(KvOp::set, "app/b", "2"));
  auto changed = store_.take_changed_watch_keys();
  EXPECT_THAT(changed, ElementsAre(watch_key::kv("app/b"), std::string(watch_key::kKvs)));

  must(UpdateCheck{"n1", "web-alive", kCritical, ""});
  changed = store_.take_changed_watch_keys();
  EXPECT_THAT(changed, Contains(watch_key::service_health("web")));
  EXPECT_THAT(changed, Contains(watch_key::node("n1")));
  EXPECT_THAT(changed, Contains(std::string(watch_key::kChecks)));
  EXPECT_THAT(changed, Not(Contains(watch_key::kv("app/a"))));
  EXPECT_THAT(changed, Not(Contains(std::string(watch_key::kNodes))));

  must(CreateSession{make_session("s1", "n1")});
  changed = store_.take_changed_watch_keys();
  EXPECT_THAT(changed, ElementsAre(watch_key::session("s1"), std::string(watch_key::kSessions)));
}

}  // namespace
}  // namespace roster::catalog
