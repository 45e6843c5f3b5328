#include "agent/exec/bundle_codec.h"

#include <gtest/gtest.h>

#include "exec.pb.h"

namespace roster::exec {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

Bundle sample_bundle() {
  Bundle bundle;
  Task copy{"motd", "copy", {}, {"restart motd"}};
  copy.args.emplace("dest", std::string("/etc/motd"));
  copy.args.emplace("content", std::string("hello\n"));
  copy.args.emplace("empty", std::string());
  Task command{"init", "command", {}, {}};
  command.args.emplace("argv", StringList{"/usr/bin/app", "init", ""});
  command.args.emplace("timeout", int64_t{-30});
  command.args.emplace("enabled", true);
  command.args.emplace("disabled", false);
  command.args.emplace("nothing", StringList{});
  bundle.tasks = {copy, command};
  Task handler{"restart motd", "service", {}, {}};
  handler.args.emplace("name", std::string("motd"));
  bundle.handlers = {handler};
  return bundle;
}

class BundleCodecTest : public ::testing::Test {
 protected:
  BundleCodecTest() : key_(std::move(SigningKey::generate()).value()) {
    meta_.node_id = "node-id-1";
    meta_.node = "web-1";
    meta_.generation = 7;
    meta_.expires_unix_ms = kNow + 60'000;
    meta_.run_id = "run-1";
    meta_.check_mode = true;
    meta_.playbooks = {"base", "web"};
    policy_.node_id = "node-id-1";
    policy_.last_generation = 6;
    policy_.now_unix_ms = kNow;
    policy_.trusted_keys = {key_.public_key_raw()};
  }

  std::string seal() const { return seal_bundle(meta_, sample_bundle(), key_); }

  // Rewrites the payload and signs it again with the trusted key, so only the
  // change itself can be refused.
  template <typename Change>
  std::string resigned(Change change) const {
    proto::exec::SignedBundle signed_bundle;
    EXPECT_TRUE(signed_bundle.ParseFromString(seal()));
    proto::exec::BundlePayload payload;
    EXPECT_TRUE(payload.ParseFromString(signed_bundle.payload()));
    change(payload);
    signed_bundle.set_payload(payload.SerializeAsString());
    signed_bundle.set_signature(key_.sign(signed_bundle.payload()));
    return signed_bundle.SerializeAsString();
  }

  SigningKey key_;
  BundleMeta meta_;
  OpenPolicy policy_;
};

TEST_F(BundleCodecTest, SealedBundleOpensWithEveryArgumentType) {
  Result<OpenedBundle> opened = open_bundle(seal(), policy_);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  Bundle expected = sample_bundle();
  ASSERT_EQ(opened->bundle.tasks.size(), 2u);
  for (size_t i = 0; i < expected.tasks.size(); ++i) {
    EXPECT_EQ(opened->bundle.tasks[i].name, expected.tasks[i].name);
    EXPECT_EQ(opened->bundle.tasks[i].module, expected.tasks[i].module);
    EXPECT_EQ(opened->bundle.tasks[i].args, expected.tasks[i].args);
    EXPECT_EQ(opened->bundle.tasks[i].notify, expected.tasks[i].notify);
  }
  ASSERT_EQ(opened->bundle.handlers.size(), 1u);
  EXPECT_EQ(opened->bundle.handlers[0].args, expected.handlers[0].args);
  const BundleMeta& meta = opened->meta;
  EXPECT_EQ(meta.node_id, "node-id-1");
  EXPECT_EQ(meta.node, "web-1");
  EXPECT_EQ(meta.generation, 7u);
  EXPECT_EQ(meta.expires_unix_ms, kNow + 60'000);
  EXPECT_EQ(meta.run_id, "run-1");
  EXPECT_TRUE(meta.check_mode);
  EXPECT_EQ(meta.playbooks, (std::vector<std::string>{"base", "web"}));
  EXPECT_EQ(meta.content_hash, content_hash(expected, meta_.playbooks));
  EXPECT_EQ(meta.content_hash.size(), 64u);
}

TEST_F(BundleCodecTest, TamperedPayloadIsRefused) {
  std::string bytes = seal();
  // "hello" sits in the copy task's content, inside the signed payload.
  size_t at = bytes.find("hello");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'j';
  Result<OpenedBundle> opened = open_bundle(bytes, policy_);
  EXPECT_EQ(opened.status().code(), StatusCode::permission_denied);
  EXPECT_NE(opened.status().message().find("altered"), std::string::npos) << opened.status().message();
}

TEST_F(BundleCodecTest, UnknownSignerIsRefused) {
  SigningKey stranger = std::move(SigningKey::generate()).value();
  Result<OpenedBundle> opened = open_bundle(seal_bundle(meta_, sample_bundle(), stranger), policy_);
  EXPECT_EQ(opened.status().code(), StatusCode::permission_denied);
  EXPECT_NE(opened.status().message().find(stranger.public_key_base64()), std::string::npos);
  EXPECT_NE(opened.status().message().find("trusted_keys"), std::string::npos);

  policy_.trusted_keys.clear();
  EXPECT_EQ(open_bundle(seal(), policy_).status().code(), StatusCode::permission_denied);
}

TEST_F(BundleCodecTest, BundleForAnotherNodeIsRefused) {
  policy_.node_id = "node-id-2";
  Result<OpenedBundle> opened = open_bundle(seal(), policy_);
  EXPECT_EQ(opened.status().code(), StatusCode::conflict);
  EXPECT_NE(opened.status().message().find("bundle is for node ID \"node-id-1\""), std::string::npos)
      << opened.status().message();
  EXPECT_NE(opened.status().message().find("this is \"node-id-2\""), std::string::npos);
}

TEST_F(BundleCodecTest, ExpiredBundleIsRefused) {
  policy_.now_unix_ms = meta_.expires_unix_ms;
  Result<OpenedBundle> opened = open_bundle(seal(), policy_);
  EXPECT_EQ(opened.status().code(), StatusCode::conflict);
  EXPECT_NE(opened.status().message().find("expired at 2027-01-15T08:01:00Z"), std::string::npos)
      << opened.status().message();
}

TEST_F(BundleCodecTest, ReplayIsRefusedButTheInterruptedGenerationResumes) {
  policy_.last_generation = 7;
  Result<OpenedBundle> replay = open_bundle(seal(), policy_);
  EXPECT_EQ(replay.status().code(), StatusCode::conflict);
  EXPECT_NE(replay.status().message().find("replay"), std::string::npos);
  policy_.last_generation = 9;
  EXPECT_EQ(open_bundle(seal(), policy_).status().code(), StatusCode::conflict);

  policy_.last_generation = 6;
  policy_.resume_generation = 7;
  EXPECT_TRUE(open_bundle(seal(), policy_).is_ok());
  policy_.last_generation = 7;
  EXPECT_TRUE(open_bundle(seal(), policy_).is_ok());
  policy_.resume_generation = 8;
  EXPECT_FALSE(open_bundle(seal(), policy_).is_ok());
}

TEST_F(BundleCodecTest, ContentHashMismatchIsRefused) {
  std::string bytes = resigned([](proto::exec::BundlePayload& payload) { payload.set_content_hash("0000"); });
  Result<OpenedBundle> opened = open_bundle(bytes, policy_);
  EXPECT_EQ(opened.status().code(), StatusCode::conflict);
  EXPECT_NE(opened.status().message().find("\"0000\""), std::string::npos) << opened.status().message();
}

TEST_F(BundleCodecTest, InvalidContentIsRefusedAsInvalid) {
  auto refused = [&](auto change, const std::string& words) {
    Result<OpenedBundle> opened = open_bundle(resigned(change), policy_);
    EXPECT_EQ(opened.status().code(), StatusCode::invalid_argument) << words;
    EXPECT_NE(opened.status().message().find(words), std::string::npos) << opened.status().message();
  };
  refused([](proto::exec::BundlePayload& p) { p.mutable_content()->mutable_tasks(0)->clear_module(); },
          "has no module");
  refused([](proto::exec::BundlePayload& p) { p.mutable_content()->mutable_tasks(1)->clear_name(); },
          "task 2 has no name");
  refused([](proto::exec::BundlePayload& p) { *p.mutable_content()->add_handlers() = p.content().handlers(0); },
          "two handlers are named \"restart motd\"");
  refused([](proto::exec::BundlePayload& p) { p.mutable_content()->mutable_tasks(0)->add_notify("nobody"); },
          "notifies \"nobody\"");
  refused([](proto::exec::BundlePayload& p) { (*p.mutable_content()->mutable_tasks(0)->mutable_args())["x"]; },
          "argument \"x\" of task 1 \"motd\" has no value");
  refused([](proto::exec::BundlePayload& p) { p.set_format(2); }, "unknown bundle format 2");
}

TEST_F(BundleCodecTest, GarbageIsInvalid) {
  EXPECT_EQ(open_bundle("", policy_).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(open_bundle("not a bundle at all", policy_).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(decode_bundle_unverified("").status().code(), StatusCode::invalid_argument);
  const std::string bytes = seal();
  for (size_t length : {size_t{1}, size_t{10}, bytes.size() / 2, bytes.size() - 70, bytes.size() - 1}) {
    EXPECT_EQ(open_bundle(bytes.substr(0, length), policy_).status().code(), StatusCode::invalid_argument)
        << "truncated to " << length;
  }
  EXPECT_EQ(open_bundle(std::string(kMaxBundleBytes + 1, 'x'), policy_).status().code(),
            StatusCode::invalid_argument);
}

TEST_F(BundleCodecTest, DecodeUnverifiedIgnoresSignatureAndPolicy) {
  SigningKey stranger = std::move(SigningKey::generate()).value();
  meta_.expires_unix_ms = 1;
  Result<OpenedBundle> decoded = decode_bundle_unverified(seal_bundle(meta_, sample_bundle(), stranger));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->meta.node, "web-1");
  EXPECT_EQ(decoded->bundle.tasks.size(), 2u);
}

TEST(ContentHashTest, EqualContentHashesEqual) {
  Bundle first = sample_bundle();
  Bundle second = sample_bundle();
  EXPECT_EQ(content_hash(first, {"base"}), content_hash(second, {"base"}));
  // Argument insertion order does not matter.
  Task reordered{"t", "copy", {}, {}};
  reordered.args.emplace("b", std::string("2"));
  reordered.args.emplace("a", std::string("1"));
  Task ordered{"t", "copy", {}, {}};
  ordered.args.emplace("a", std::string("1"));
  ordered.args.emplace("b", std::string("2"));
  EXPECT_EQ(content_hash({{reordered}, {}}, {}), content_hash({{ordered}, {}}, {}));
}

TEST(ContentHashTest, DifferentContentHashesDifferently) {
  Bundle bundle = sample_bundle();
  const std::string original = content_hash(bundle, {"base"});
  EXPECT_NE(content_hash(bundle, {"web"}), original);
  EXPECT_NE(content_hash(bundle, {}), original);
  Bundle changed = bundle;
  changed.tasks[0].args["content"] = std::string("hello!\n");
  EXPECT_NE(content_hash(changed, {"base"}), original);
  changed = bundle;
  changed.tasks[1].args["enabled"] = std::string("true");  // a string is not a bool
  EXPECT_NE(content_hash(changed, {"base"}), original);
  changed = bundle;
  std::swap(changed.tasks[0], changed.tasks[1]);
  EXPECT_NE(content_hash(changed, {"base"}), original);
}

}  // namespace
}  // namespace roster::exec
