// Transactions in the state store: one command at one index, every verb, and
// all or nothing.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/catalog/state_store.h"

namespace roster::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TxnOp kv_op(TxnKvVerb verb, const std::string& key, const std::string& value = "", Index index = 0,
            const std::string& session = "") {
  return TxnKvOp{verb, key, value, 0, index, session};
}

TxnOp node_op(TxnCatalogVerb verb, const std::string& name, Index modify_index = 0, const std::string& id = "") {
  TxnNodeOp op;
  op.verb = verb;
  op.node.name = name;
  op.node.id = id;
  op.node.address = "10.0.0.9";
  op.node.datacenter = "dc1";
  op.node.modify_index = modify_index;
  return op;
}

TxnOp service_op(TxnCatalogVerb verb, const std::string& node, const std::string& id, Index modify_index = 0,
                 int port = 80) {
  TxnServiceOp op;
  op.verb = verb;
  op.node = node;
  op.service.id = id;
  op.service.name = "web";
  op.service.port = port;
  op.service.modify_index = modify_index;
  return op;
}

TxnOp check_op(TxnCatalogVerb verb, const std::string& node, const std::string& id,
               const std::string& status = kPassing, Index modify_index = 0) {
  TxnCheckOp op;
  op.verb = verb;
  op.check.node = node;
  op.check.check_id = id;
  op.check.name = id;
  op.check.status = status;
  op.check.modify_index = modify_index;
  return op;
}

KvCommand set_kv(const std::string& key, const std::string& value) {
  KvCommand command;
  command.key = key;
  command.value = value;
  return command;
}

RegisterNode register_node(const std::string& name) {
  RegisterNode command;
  command.node.name = name;
  command.node.address = "10.0.0.1";
  return command;
}

class StateStoreTxnTest : public ::testing::Test {
 protected:
  Index must(CommandBody body) {
    Status status = store_.apply(++index_, Command{0, std::move(body)});
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    return index_;
  }

  // Applies a transaction that must succeed and returns its results.
  std::vector<TxnResult> commit(std::vector<TxnOp> ops) {
    TxnOutcome outcome;
    Status status = store_.apply(++index_, Command{0, Transaction{std::move(ops)}}, &outcome);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    for (const auto& error : outcome.errors) ADD_FAILURE() << "op " << error.op_index << ": " << error.what;
    return outcome.results;
  }

  // Applies a transaction that must fail, checks that it changed nothing but
  // last_index and woke nobody, and returns its errors.
  std::vector<TxnError> rejected(std::vector<TxnOp> ops) {
    StoreData before = store_.snapshot();
    (void)store_.take_changed_watch_keys();
    TxnOutcome outcome;
    Status status = store_.apply(++index_, Command{0, Transaction{std::move(ops)}}, &outcome);
    EXPECT_EQ(status.code(), StatusCode::conflict) << status.to_string();
    EXPECT_FALSE(outcome.ok());
    EXPECT_THAT(outcome.results, IsEmpty());
    StoreData after = store_.snapshot();
    EXPECT_EQ(after.last_index, index_);
    after.last_index = before.last_index;
    EXPECT_TRUE(after == before) << "a failed transaction changed the store";
    EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());
    return outcome.errors;
  }

  static const KvEntry& kv_result(const TxnResult& result) { return std::get<KvEntry>(result); }

  StateStore store_;
  Index index_ = 0;
};

TEST_F(StateStoreTxnTest, WritesApplyAtOneIndexAndWakeWatchersOnce) {
  must(set_kv("old", "x"));
  (void)store_.take_changed_watch_keys();
  auto results = commit({kv_op(TxnKvVerb::set, "a", "1"), kv_op(TxnKvVerb::cas, "b", "2", 0),
                         kv_op(TxnKvVerb::delete_key, "old"), kv_op(TxnKvVerb::set, "a", "3")});
  const Index at = index_;
  ASSERT_EQ(results.size(), 3u);  // the delete adds none
  EXPECT_EQ(kv_result(results[0]).key, "a");
  EXPECT_EQ(kv_result(results[0]).value, "");  // written entries come back without their value
  EXPECT_EQ(kv_result(results[0]).modify_index, at);
  EXPECT_EQ(kv_result(results[1]).key, "b");
  EXPECT_EQ(store_.kv_get("a").value->value, "3");
  EXPECT_EQ(store_.kv_get("a").index, at);
  EXPECT_EQ(store_.kv_get("b").index, at);
  EXPECT_EQ(store_.kv_get("old").index, at);  // its tombstone
  EXPECT_EQ(store_.last_index(), at);
  // Each watch key once, for everything the transaction changed.
  EXPECT_THAT(store_.take_changed_watch_keys(),
              ElementsAre(watch_key::kv("a"), watch_key::kv("b"), watch_key::kv("old"), watch_key::kKvs));
}

TEST_F(StateStoreTxnTest, AFailedOperationInTheMiddleLeavesEverythingUnchanged) {
  must(register_node("n1"));
  Index kept_at = must(set_kv("kept", "v"));
  auto errors = rejected({kv_op(TxnKvVerb::set, "new", "1"),
                          kv_op(TxnKvVerb::delete_key, "kept"),
                          kv_op(TxnKvVerb::cas, "kept", "2", kept_at + 50),  // stale
                          node_op(TxnCatalogVerb::delete_entry, "n1"),
                          kv_op(TxnKvVerb::check_not_exists, "new")});  // sees op 0's write
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].op_index, 2u);
  EXPECT_EQ(errors[0].what, "failed to set key \"kept\", index is stale");
  EXPECT_EQ(errors[1].op_index, 4u);
  EXPECT_EQ(errors[1].what, "key \"new\" exists");
  EXPECT_EQ(store_.kv_get("kept").value->value, "v");
  EXPECT_EQ(store_.kv_get("kept").index, kept_at);
  EXPECT_NE(store_.find_node("n1"), nullptr);
  EXPECT_FALSE(store_.kv_get("new").value.has_value());
}

TEST_F(StateStoreTxnTest, ReadsSeeTheOperationsBeforeThem) {
  must(set_kv("k", "before"));
  auto results = commit({kv_op(TxnKvVerb::get, "k"), kv_op(TxnKvVerb::set, "k", "after"),
                         kv_op(TxnKvVerb::get, "k")});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(kv_result(results[0]).value, "before");
  EXPECT_EQ(kv_result(results[2]).value, "after");
  EXPECT_EQ(kv_result(results[2]).modify_index, index_);
}

TEST_F(StateStoreTxnTest, EveryKvVerb) {
  must(register_node("n1"));
  Session session;
  session.id = "s1";
  session.node = "n1";
  session.lock_delay_ns = 0;
  must(CreateSession{session});
  Index a_at = must(set_kv("t/a", "A"));
  must(set_kv("t/b", "B"));

  // Reads.
  auto results = commit({kv_op(TxnKvVerb::get_tree, "t/"), kv_op(TxnKvVerb::check_index, "t/a", "", a_at),
                         kv_op(TxnKvVerb::check_not_exists, "t/c")});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(kv_result(results[0]).value, "A");  // get-tree keeps values
  EXPECT_EQ(kv_result(results[1]).key, "t/b");
  EXPECT_EQ(kv_result(results[2]).key, "t/a");
  EXPECT_EQ(kv_result(results[2]).value, "");
  EXPECT_EQ(rejected({kv_op(TxnKvVerb::get, "t/none")})[0].what, "key \"t/none\" doesn't exist");
  EXPECT_EQ(rejected({kv_op(TxnKvVerb::check_index, "t/a", "", a_at + 1)})[0].what,
            "current modify index " + std::to_string(a_at) + " != " + std::to_string(a_at + 1));
  EXPECT_EQ(rejected({kv_op(TxnKvVerb::check_index, "t/none", "", 1)})[0].what, "key \"t/none\" doesn't exist");

  // Locks, and the session check.
  results = commit({kv_op(TxnKvVerb::lock, "lock", "held", 0, "s1"),
                    kv_op(TxnKvVerb::check_session, "lock", "", 0, "s1")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(kv_result(results[0]).session, "s1");
  EXPECT_EQ(kv_result(results[0]).lock_index, 1u);
  EXPECT_THAT(rejected({kv_op(TxnKvVerb::check_session, "lock", "", 0, "s2")})[0].what,
              HasSubstr("failed session check for key \"lock\""));
  EXPECT_THAT(rejected({kv_op(TxnKvVerb::unlock, "t/a", "", 0, "s1")})[0].what,
              HasSubstr("failed to unlock key \"t/a\""));
  EXPECT_THAT(rejected({kv_op(TxnKvVerb::lock, "t/a", "", 0, "nope")})[0].what, HasSubstr("nope"));
  results = commit({kv_op(TxnKvVerb::unlock, "lock", "free", 0, "s1")});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(kv_result(results[0]).session, "");
  EXPECT_EQ(store_.kv_get("lock").value->value, "free");

  // Deletes add no results; delete-cas checks the index.
  Index b_at = store_.kv_get("t/b").value->modify_index;
  EXPECT_EQ(rejected({kv_op(TxnKvVerb::delete_cas, "t/b", "", b_at + 1)})[0].what,
            "failed to delete key \"t/b\", index is stale");
  EXPECT_THAT(commit({kv_op(TxnKvVerb::delete_cas, "t/b", "", b_at), kv_op(TxnKvVerb::delete_tree, "t/"),
                      kv_op(TxnKvVerb::delete_key, "lock")}),
              IsEmpty());
  EXPECT_THAT(store_.kv_keys("", "").value, IsEmpty());

  // A key is required, except for the tree verbs.
  EXPECT_EQ(rejected({kv_op(TxnKvVerb::set, "", "x")})[0].what, "Must provide key");
  EXPECT_THAT(commit({kv_op(TxnKvVerb::get_tree, "")}), IsEmpty());
}

TEST_F(StateStoreTxnTest, NodeVerbs) {
  auto results = commit({node_op(TxnCatalogVerb::set, "n1", 0, "id-1")});
  ASSERT_EQ(results.size(), 1u);
  const Node created = std::get<Node>(results[0]);
  EXPECT_EQ(created.name, "n1");
  EXPECT_EQ(created.create_index, index_);

  // cas 0 writes only a node that is absent; another index must match.
  EXPECT_EQ(rejected({node_op(TxnCatalogVerb::cas, "n1", 0)})[0].what, "failed to set node \"n1\", index is stale");
  EXPECT_EQ(rejected({node_op(TxnCatalogVerb::cas, "n1", created.modify_index + 1)})[0].what,
            "failed to set node \"n1\", index is stale");
  TxnNodeOp with_meta = std::get<TxnNodeOp>(node_op(TxnCatalogVerb::cas, "n1", created.modify_index));
  with_meta.meta = TagMap{{"role", "web"}};
  results = commit({with_meta});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(std::get<Node>(results[0]).tags.operator_tags, (TagMap{{"role", "web"}}));

  // get by name, or by ID when given.
  results = commit({node_op(TxnCatalogVerb::get, "n1"), node_op(TxnCatalogVerb::get, "", 0, "id-1")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(std::get<Node>(results[1]).name, "n1");
  EXPECT_EQ(rejected({node_op(TxnCatalogVerb::get, "n9")})[0].what, "node \"n9\" doesn't exist");

  const Index modified = store_.find_node("n1")->modify_index;
  EXPECT_EQ(rejected({node_op(TxnCatalogVerb::delete_cas, "n1", modified - 1)})[0].what,
            "failed to delete node \"n1\", index is stale");
  EXPECT_THAT(commit({node_op(TxnCatalogVerb::delete_cas, "n1", modified)}), IsEmpty());
  EXPECT_EQ(store_.find_node("n1"), nullptr);
  EXPECT_THAT(commit({node_op(TxnCatalogVerb::delete_entry, "n1")}), IsEmpty());  // already gone is fine
}

TEST_F(StateStoreTxnTest, ServiceVerbs) {
  EXPECT_EQ(rejected({service_op(TxnCatalogVerb::set, "n1", "web-1")})[0].what, "node \"n1\" doesn't exist");
  // A node and its service in one transaction.
  auto results = commit({node_op(TxnCatalogVerb::set, "n1"), service_op(TxnCatalogVerb::set, "n1", "web-1")});
  ASSERT_EQ(results.size(), 2u);
  const Service created = std::get<Service>(results[1]);
  EXPECT_EQ(created.id, "web-1");
  EXPECT_EQ(created.node, "n1");
  EXPECT_EQ(store_.service_instances("web").value.size(), 1u);

  EXPECT_EQ(rejected({service_op(TxnCatalogVerb::cas, "n1", "web-1", 0, 81)})[0].what,
            "failed to set service \"web-1\" on node \"n1\", index is stale");
  results = commit({service_op(TxnCatalogVerb::cas, "n1", "web-1", created.modify_index, 81),
                    service_op(TxnCatalogVerb::get, "n1", "web-1")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(std::get<Service>(results[1]).port, 81);
  EXPECT_EQ(rejected({service_op(TxnCatalogVerb::get, "n1", "web-9")})[0].what,
            "service \"web-9\" on node \"n1\" doesn't exist");

  const Index modified = store_.service_instances("web").value[0].service.modify_index;
  EXPECT_THAT(rejected({service_op(TxnCatalogVerb::delete_cas, "n1", "web-1", modified + 1)})[0].what,
              HasSubstr("index is stale"));
  EXPECT_THAT(commit({service_op(TxnCatalogVerb::delete_cas, "n1", "web-1", modified)}), IsEmpty());
  EXPECT_THAT(store_.service_instances("web").value, IsEmpty());
  EXPECT_THAT(commit({service_op(TxnCatalogVerb::delete_entry, "n1", "web-1")}), IsEmpty());
}

TEST_F(StateStoreTxnTest, CheckVerbsAndARolledBackSessionInvalidation) {
  auto results = commit({node_op(TxnCatalogVerb::set, "n1"), check_op(TxnCatalogVerb::set, "n1", "alive")});
  ASSERT_EQ(results.size(), 2u);
  const Check created = std::get<Check>(results[1]);
  EXPECT_EQ(created.status, kPassing);
  Session session;
  session.id = "s1";
  session.node = "n1";
  session.node_checks = {"alive"};
  must(CreateSession{session});

  // The check going critical would destroy the session; the failed op after
  // it rolls that back too.
  auto errors = rejected({check_op(TxnCatalogVerb::set, "n1", "alive", kCritical),
                          check_op(TxnCatalogVerb::cas, "n1", "alive", kPassing, 0)});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].op_index, 1u);
  EXPECT_EQ(errors[0].what, "failed to set check \"alive\" on node \"n1\", index is stale");
  EXPECT_TRUE(store_.session("s1").value.has_value());

  results = commit({check_op(TxnCatalogVerb::cas, "n1", "alive", kWarning, created.modify_index),
                    check_op(TxnCatalogVerb::get, "n1", "alive")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(std::get<Check>(results[1]).status, kWarning);
  EXPECT_EQ(rejected({check_op(TxnCatalogVerb::get, "n1", "gone")})[0].what,
            "check \"gone\" on node \"n1\" doesn't exist");

  const Index modified = store_.find_check("n1", "alive")->modify_index;
  EXPECT_THAT(rejected({check_op(TxnCatalogVerb::delete_cas, "n1", "alive", kPassing, modified - 1)})[0].what,
              HasSubstr("failed to delete check \"alive\""));
  EXPECT_THAT(commit({check_op(TxnCatalogVerb::delete_cas, "n1", "alive", kPassing, modified)}), IsEmpty());
  EXPECT_EQ(store_.find_check("n1", "alive"), nullptr);
  EXPECT_FALSE(store_.session("s1").value.has_value());  // its check is gone
}

TEST_F(StateStoreTxnTest, ReadOnlyTransactionsNeedNoIndex) {
  must(set_kv("k", "v"));
  (void)store_.take_changed_watch_keys();
  Transaction reads{{kv_op(TxnKvVerb::get, "k"), kv_op(TxnKvVerb::check_not_exists, "other"),
                     node_op(TxnCatalogVerb::get, "n9")}};
  EXPECT_TRUE(is_read_only(reads));
  EXPECT_FALSE(is_read_only(Transaction{{kv_op(TxnKvVerb::get, "k"), kv_op(TxnKvVerb::delete_key, "k")}}));
  EXPECT_FALSE(is_read_only(Transaction{{node_op(TxnCatalogVerb::delete_entry, "n1")}}));

  const StoreData before = store_.snapshot();
  TxnOutcome outcome = store_.read_transaction(reads);
  ASSERT_EQ(outcome.errors.size(), 1u);
  EXPECT_EQ(outcome.errors[0].op_index, 2u);
  EXPECT_THAT(outcome.results, IsEmpty());
  reads.ops.pop_back();
  outcome = store_.read_transaction(reads);
  ASSERT_TRUE(outcome.ok());
  ASSERT_EQ(outcome.results.size(), 1u);
  EXPECT_EQ(kv_result(outcome.results[0]).value, "v");
  EXPECT_TRUE(store_.snapshot() == before);
  EXPECT_THAT(store_.take_changed_watch_keys(), IsEmpty());
}

}  // namespace
}  // namespace roster::catalog
