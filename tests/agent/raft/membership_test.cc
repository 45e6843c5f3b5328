#include "agent/raft/membership.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/agent/raft/raft_test_network.h"

namespace roster::raft {
namespace {

using testing::voters;

Configuration with_non_voter(Configuration configuration, ServerId id) {
  configuration.servers.push_back(Server{id, "10.0.0.9:8300", false});
  return configuration;
}

MembershipChange change(MembershipChangeKind kind, ServerId id) {
  return MembershipChange{kind, Server{id, "10.0.0.9:8300", true}};
}

TEST(Membership, QuorumCountsOnlyVoters) {
  EXPECT_EQ(quorum_size(voters({1})), 1u);
  EXPECT_EQ(quorum_size(voters({1, 2})), 2u);
  EXPECT_EQ(quorum_size(voters({1, 2, 3})), 2u);
  EXPECT_EQ(quorum_size(voters({1, 2, 3, 4})), 3u);
  Configuration mixed = with_non_voter(voters({1, 2, 3}), 4);
  EXPECT_EQ(voter_count(mixed), 3u);
  EXPECT_EQ(quorum_size(mixed), 2u);
  EXPECT_TRUE(is_voter(mixed, 1));
  EXPECT_FALSE(is_voter(mixed, 4));
  EXPECT_NE(find_server(mixed, 4), nullptr);
  EXPECT_EQ(find_server(mixed, 5), nullptr);
}

TEST(Membership, AddJoinsAsANonVoterThenPromoteMakesItAVoter) {
  Result<Configuration> added = apply_change(voters({1, 2, 3}), change(MembershipChangeKind::add_non_voter, 4));
  ASSERT_TRUE(added.is_ok());
  ASSERT_NE(find_server(added.value(), 4), nullptr);
  EXPECT_FALSE(find_server(added.value(), 4)->voter);  // even when the request says voter
  EXPECT_EQ(find_server(added.value(), 4)->address, "10.0.0.9:8300");

  Result<Configuration> promoted = apply_change(added.value(), change(MembershipChangeKind::promote, 4));
  ASSERT_TRUE(promoted.is_ok());
  EXPECT_TRUE(is_voter(promoted.value(), 4));

  Result<Configuration> removed = apply_change(promoted.value(), change(MembershipChangeKind::remove, 2));
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(find_server(removed.value(), 2), nullptr);
  EXPECT_EQ(voter_count(removed.value()), 3u);
}

TEST(Membership, ChangesThatDoNotApplyAreRefused) {
  const Configuration three = voters({1, 2, 3});
  const Configuration mixed = with_non_voter(three, 4);
  EXPECT_EQ(apply_change(three, change(MembershipChangeKind::add_non_voter, 0)).status().code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(apply_change(three, change(MembershipChangeKind::add_non_voter, 2)).status().code(), StatusCode::conflict);
  EXPECT_EQ(apply_change(mixed, change(MembershipChangeKind::add_non_voter, 4)).status().code(), StatusCode::conflict);
  EXPECT_EQ(apply_change(three, change(MembershipChangeKind::promote, 9)).status().code(), StatusCode::not_found);
  EXPECT_EQ(apply_change(three, change(MembershipChangeKind::promote, 2)).status().code(), StatusCode::conflict);
  EXPECT_EQ(apply_change(three, change(MembershipChangeKind::remove, 9)).status().code(), StatusCode::not_found);
  EXPECT_EQ(apply_change(voters({1}), change(MembershipChangeKind::remove, 1)).status().code(), StatusCode::conflict);
  // The last voter may still lose its non-voters.
  EXPECT_TRUE(apply_change(with_non_voter(voters({1}), 4), change(MembershipChangeKind::remove, 4)).is_ok());
}

TEST(Membership, EncodeDecodeRoundTrips) {
  Configuration configuration = with_non_voter(voters({1, 2, 3}), 4);
  configuration.servers[1].address = "";  // empty addresses survive too
  Result<Configuration> decoded = decode_configuration(encode_configuration(configuration));
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded.value(), configuration);

  Result<Configuration> empty = decode_configuration(encode_configuration(Configuration{}));
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty.value().servers.empty());
}

TEST(Membership, MalformedEncodingsAreRefusedNotTrusted) {
  const std::string good = encode_configuration(voters({1, 2}));
  // Every truncation fails.
  for (size_t length = 0; length < good.size(); ++length) {
    EXPECT_FALSE(decode_configuration(good.substr(0, length)).is_ok()) << "length " << length;
  }
  EXPECT_FALSE(decode_configuration(good + "x").is_ok());  // trailing bytes

  std::string bad_voter = good;
  bad_voter[8 + 8] = 2;  // the first server's voter flag
  EXPECT_FALSE(decode_configuration(bad_voter).is_ok());

  std::string huge_count = good;
  huge_count[7] = '\x7f';
  EXPECT_FALSE(decode_configuration(huge_count).is_ok());

  std::string huge_length = good;
  for (int i = 0; i < 8; ++i) huge_length[8 + 16 + i] = '\xff';  // the first address length
  EXPECT_FALSE(decode_configuration(huge_length).is_ok());
}

TEST(ConfigurationHistory, LatestAndAtFollowTheLog) {
  ConfigurationHistory history;
  history.reset(0, voters({1}));
  history.add(3, voters({1, 2}));
  history.add(7, voters({1, 2, 3}));
  EXPECT_EQ(history.latest(), voters({1, 2, 3}));
  EXPECT_EQ(history.latest_index(), 7u);
  EXPECT_EQ(history.at(2), voters({1}));
  EXPECT_EQ(history.at(3), voters({1, 2}));
  EXPECT_EQ(history.at(6), voters({1, 2}));
  EXPECT_EQ(history.at(100), voters({1, 2, 3}));
}

TEST(ConfigurationHistory, TruncateFallsBackButNeverCutsTheBase) {
  ConfigurationHistory history;
  history.reset(5, voters({1}));
  history.add(8, voters({1, 2}));
  history.add(9, voters({1, 2, 3}));
  history.truncate_from(9);
  EXPECT_EQ(history.latest(), voters({1, 2}));
  history.truncate_from(6);
  EXPECT_EQ(history.latest(), voters({1}));
  EXPECT_EQ(history.latest_index(), 5u);
  history.truncate_from(1);  // below the snapshot: the base stays
  EXPECT_EQ(history.latest(), voters({1}));
}

TEST(ConfigurationHistory, CompactKeepsTheConfigurationInForceAtTheSnapshot) {
  ConfigurationHistory history;
  history.reset(0, voters({1}));
  history.add(3, voters({1, 2}));
  history.add(7, voters({1, 2, 3}));
  history.compact(5);
  EXPECT_EQ(history.at(0), voters({1, 2}));  // the base is now the one at 3
  EXPECT_EQ(history.latest(), voters({1, 2, 3}));
  history.truncate_from(4);
  EXPECT_EQ(history.latest(), voters({1, 2}));
}

}  // namespace
}  // namespace roster::raft
