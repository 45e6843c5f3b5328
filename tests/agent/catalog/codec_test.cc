#include "agent/catalog/codec.h"

#include <gtest/gtest.h>

#include <random>

namespace roster::catalog {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// A store that has seen every kind of command, including failures and
// deletions, so the snapshot carries tombstones, lock delays and odd bytes.
StateStore varied_store() {
  StateStore store;
  Index index = 0;
  auto apply = [&](CommandBody body, int64_t time_ns = 0) {
    (void)store.apply(++index, Command{time_ns, std::move(body)});
  };
  for (const std::string name : {"n1", "n2", "n3"}) {
    RegisterNode command;
    command.node = Node{"id-" + name, name, "10.0.0." + name.substr(1), "dc1", {{"wan", "192.0.2.1"}}, {}, 0, 0};
    command.image_tags = TagMap{{"os", "debian"}, {"zone", name}};
    command.runtime_tags = TagMap{{"role", "web"}};
    Service web;
    web.name = "web";
    web.tags = {"v1", "blue"};
    web.port = 8080;
    web.meta = {{"version", "1.2"}};
    command.service = web;
    Check serf;
    serf.check_id = "serfHealth";
    serf.status = kPassing;
    Check alive;
    alive.check_id = "web-alive";
    alive.service_id = "web";
    alive.status = kWarning;
    alive.type = "http";
    alive.interval = "10s";
    alive.output = "HTTP 200\n";
    command.checks = {serf, alive};
    apply(command);
  }
  RegisterNode db;
  db.node.name = "n2";
  db.skip_node_update = true;
  db.service = Service{};
  db.service->name = "db";
  db.service->id = "db-primary";
  db.service->port = 5432;
  apply(db);
  apply(UpdateTags{"n1", TagLayer::operator_layer, {{"role", "lb"}}, {}});
  apply(DeregisterNode{"n3", "", ""});
  apply(UpdateCheck{"n2", "web-alive", kPassing, "ok"});
  apply(KvCommand{KvOp::set, "app/config", std::string("\xff\x00\x01binary", 9), 42, 0, ""});
  apply(KvCommand{KvOp::set, std::string("weird/\xc3\x28key"), "v", 0, 0, ""});
  apply(KvCommand{KvOp::set, "app/gone", "x", 0, 0, ""});
  apply(KvCommand{KvOp::delete_key, "app/gone", "", 0, 0, ""});
  apply(KvCommand{KvOp::cas, "app/config", "bad", 0, 1, ""});  // fails
  Session session;
  session.id = "sess-1";
  session.node = "n1";
  session.node_checks = {"serfHealth"};
  session.lock_delay_ns = 15 * kSecond;
  session.ttl_ns = 30 * kSecond;
  session.ttl = "30s";
  apply(CreateSession{session});
  session.id = "sess-2";
  session.behavior = "delete";
  session.node = "n2";
  apply(CreateSession{session});
  apply(KvCommand{KvOp::lock, "locks/a", "holder-1", 0, 0, "sess-1"}, 5 * kSecond);
  apply(KvCommand{KvOp::lock, "locks/b", "holder-2", 0, 0, "sess-2"}, 5 * kSecond);
  apply(DestroySession{"sess-2"}, 6 * kSecond);
  return store;
}

template <typename T>
void expect_same_query(const Query<T>& a, const Query<T>& b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_TRUE(a.value == b.value);
}

void expect_same_instances(const Query<std::vector<ServiceInstance>>& a,
                           const Query<std::vector<ServiceInstance>>& b) {
  EXPECT_EQ(a.index, b.index);
  ASSERT_EQ(a.value.size(), b.value.size());
  for (size_t i = 0; i < a.value.size(); ++i) {
    EXPECT_TRUE(a.value[i].node == b.value[i].node);
    EXPECT_TRUE(a.value[i].service == b.value[i].service);
  }
}

void expect_same_health(const Query<std::vector<HealthEntry>>& a, const Query<std::vector<HealthEntry>>& b) {
  EXPECT_EQ(a.index, b.index);
  ASSERT_EQ(a.value.size(), b.value.size());
  for (size_t i = 0; i < a.value.size(); ++i) {
    EXPECT_TRUE(a.value[i].node == b.value[i].node);
    EXPECT_TRUE(a.value[i].service == b.value[i].service);
    EXPECT_TRUE(a.value[i].checks == b.value[i].checks);
  }
}

TEST(CodecTest, SnapshotRoundTripRestoresTheSameStore) {
  StateStore original = varied_store();
  const StoreData& data = original.snapshot();
  ASSERT_EQ(data.nodes.size(), 2u);
  ASSERT_FALSE(data.kv_tombstones.empty());
  ASSERT_FALSE(data.kv_lock_delays.empty());
  ASSERT_EQ(data.sessions.size(), 1u);

  auto decoded = decode_snapshot(encode_snapshot(data));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  StateStore restored;
  restored.restore(std::move(decoded).value());
  EXPECT_TRUE(restored.snapshot() == data);
  EXPECT_FALSE(restored.take_changed_watch_keys().empty());

  expect_same_query(original.nodes(), restored.nodes());
  expect_same_query(original.services(), restored.services());
  expect_same_instances(original.service_instances("web"), restored.service_instances("web"));
  expect_same_health(original.service_health("web"), restored.service_health("web"));
  expect_same_query(original.node_checks("n2"), restored.node_checks("n2"));
  expect_same_query(original.checks_in_state("any"), restored.checks_in_state("any"));
  expect_same_query(original.kv_list(""), restored.kv_list(""));
  expect_same_query(original.kv_get("app/gone"), restored.kv_get("app/gone"));
  expect_same_query(original.kv_keys("", "/"), restored.kv_keys("", "/"));
  expect_same_query(original.sessions(), restored.sessions());
  EXPECT_EQ(restored.kv_get("app/config").value->value, std::string("\xff\x00\x01binary", 9));

  // The restored store keeps going from where the original stopped.
  Command next{0, KvCommand{KvOp::set, "after", "1", 0, 0, ""}};
  ASSERT_TRUE(original.apply(original.last_index() + 1, next).is_ok());
  ASSERT_TRUE(restored.apply(restored.last_index() + 1, next).is_ok());
  EXPECT_TRUE(restored.snapshot() == original.snapshot());
}

TEST(CodecTest, EmptyStoreRoundTrips) {
  auto decoded = decode_snapshot(encode_snapshot(StoreData{}));
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_TRUE(*decoded == StoreData{});
}

TEST(CodecTest, GarbageIsAnErrorNotACrash) {
  for (std::string_view garbage : {std::string_view("\xff\xff\xff\xff"), std::string_view("hello world"),
                                   std::string_view(""), std::string_view("\x0a\x05\x01")}) {
    auto snapshot = decode_snapshot(garbage);
    ASSERT_FALSE(snapshot.is_ok());
    EXPECT_EQ(snapshot.status().code(), StatusCode::invalid_argument);
    auto command = decode_command(garbage);
    ASSERT_FALSE(command.is_ok());
    EXPECT_EQ(command.status().code(), StatusCode::invalid_argument);
  }
  // A KV command whose op is 99.
  auto bad_op = decode_command(std::string_view("\x32\x02\x08\x63", 4));
  ASSERT_FALSE(bad_op.is_ok());
  EXPECT_EQ(bad_op.status().code(), StatusCode::invalid_argument);

  // Truncations and random bytes: any answer is fine, as long as it is one.
  const std::string valid = encode_snapshot(varied_store().snapshot());
  for (size_t cut = 0; cut < valid.size(); cut += 7) (void)decode_snapshot(std::string_view(valid).substr(0, cut));
  std::mt19937 random(1234);
  for (int round = 0; round < 500; ++round) {
    std::string bytes(random() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xff);
    (void)decode_snapshot(bytes);
    (void)decode_command(bytes);
  }
}

std::vector<Command> one_of_each_command() {
  RegisterNode full;
  full.node = Node{"uuid", "web-1", "10.0.0.1", "dc1", {{"lan", "10.0.0.1"}}, {}, 0, 0};
  full.operator_tags = TagMap{{"role", "web"}};
  full.runtime_tags = TagMap{};  // present but empty: clears the layer
  full.service = Service{"web-1", "web-a", "web", {"v1"}, "10.0.0.2", 80, {{"k", "v"}}, true, 0, 0};
  Check check;
  check.check_id = "c1";
  check.status = kWarning;
  check.service_id = "web-a";
  check.notes = "notes";
  check.timeout = "1s";
  full.checks = {check};
  full.skip_node_update = true;
  RegisterNode minimal;
  minimal.node.name = "bare";

  Session session;
  session.id = "s";
  session.node = "web-1";
  session.node_checks = {"serfHealth"};
  session.service_checks = {"c1"};
  session.behavior = "delete";
  session.lock_delay_ns = -1;
  session.ttl_ns = 10 * kSecond;

  std::vector<Command> commands = {
      {1, full},
      {2, minimal},
      {3, DeregisterNode{"web-1", "web-a", ""}},
      {4, DeregisterNode{"web-1", "", "c1"}},
      {5, UpdateTags{"web-1", TagLayer::runtime_layer, {{"a", "1"}}, {"b", "c"}}},
      {6, UpdateTags{"web-1", TagLayer::image_layer, {}, {}}},
      {7, UpdateCheck{"web-1", "c1", kCritical, "boom"}},
      {8, CreateSession{session}},
      {9, DestroySession{"s"}},
      {10, ReapKvTombstones{42}},
      {-5, UpdateTags{"web-1", TagLayer::operator_layer, {}, {"x"}}},
  };
  Transaction transaction;
  for (int verb = 0; verb <= static_cast<int>(TxnKvVerb::delete_cas); ++verb) {
    transaction.ops.push_back(TxnKvOp{static_cast<TxnKvVerb>(verb), "t/" + std::to_string(verb),
                                      std::string("\0\xff", 2), 3, 44, "s"});
  }
  for (int verb = 0; verb <= static_cast<int>(TxnCatalogVerb::delete_cas); ++verb) {
    const auto catalog_verb = static_cast<TxnCatalogVerb>(verb);
    transaction.ops.push_back(TxnNodeOp{catalog_verb, full.node, verb % 2 == 0 ? std::optional<TagMap>(TagMap{{"a", "b"}})
                                                                           : std::nullopt});
    transaction.ops.push_back(TxnServiceOp{catalog_verb, "web-1", *full.service});
    transaction.ops.push_back(TxnCheckOp{catalog_verb, check});
  }
  commands.push_back({11, transaction});
  commands.push_back({12, Transaction{}});
  commands.push_back({13, RestoreCatalog{varied_store().snapshot()}});
  commands.push_back({14, RestoreCatalog{StoreData{}}});
  int64_t time = 100;
  for (KvOp op : {KvOp::set, KvOp::cas, KvOp::delete_key, KvOp::delete_cas, KvOp::delete_tree, KvOp::lock,
                  KvOp::unlock}) {
    commands.push_back({time++, KvCommand{op, "k/" + std::to_string(time), std::string("\0v", 2), 7, 99, "s"}});
  }
  return commands;
}

TEST(CodecTest, EveryCommandRoundTrips) {
  for (const Command& command : one_of_each_command()) {
    auto decoded = decode_command(encode_command(command));
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_TRUE(*decoded == command) << "command at time " << command.time_ns << " changed in transit";
  }
}

}  // namespace
}  // namespace roster::catalog
