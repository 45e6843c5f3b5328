// The CLI end to end against a fake agent: each subcommand must send the
// request Consul's API expects and print what the agent answered.

#include "agent/cli/cli.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/http_client.h"
#include "tests/agent/cli/fake_agent.h"

// libcpprest sometimes leaks the stream state of a request it abandoned on
// timeout (its continuations keep each other alive): about 1 run in 7 of
// TimesOutOnAnAgentThatNeverAnswers. That is the library's leak, not ours.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcpprest.so\n"; }

namespace roster::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using roster::testing::CannedResponse;
using roster::testing::FakeAgent;
using json = nlohmann::json;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  // Runs `roster <args> -http-addr=<fake agent>`.
  CliRun run(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.push_back("-http-addr=" + agent_.address());
    return run_raw(args, stdin_text);
  }

  static CliRun run_raw(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    CliRun result;
    result.exit_code = run_cli(args, in, out, err);
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  void on(const std::string& method, const std::string& path, int status, const std::string& body) {
    agent_.on(method, path, CannedResponse{status, body, "application/json"});
  }

  roster::testing::RecordedRequest only_request() {
    auto requests = agent_.requests();
    EXPECT_EQ(requests.size(), 1u);
    return requests.empty() ? roster::testing::RecordedRequest{} : requests.front();
  }

  FakeAgent agent_;
};

const char* const kMembers = R"([
  {"Name": "web-7", "Addr": "10.0.0.7", "Port": 8301, "Tags": {"role": "node", "dc": "dc1"}, "Status": 4},
  {"Name": "db-1", "Addr": "10.0.0.1", "Port": 8301, "Tags": {"role": "consul"}, "Status": 1}
])";

TEST_F(CliTest, MembersPrintsAnAlignedTableSortedByName) {
  on("GET", "/v1/agent/members", 200, kMembers);
  CliRun result = run({"members"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "Node   Address        Status  Tags\n"
            "db-1   10.0.0.1:8301  alive   role=consul\n"
            "web-7  10.0.0.7:8301  failed  dc=dc1,role=node\n");
  auto request = only_request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/v1/agent/members");
  EXPECT_EQ(request.headers.count("x-consul-token"), 0u);
}

TEST_F(CliTest, MembersAsJsonPrintsWhatTheAgentSent) {
  on("GET", "/v1/agent/members", 200, kMembers);
  CliRun result = run({"members", "-format=json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out), json::parse(kMembers));
}

TEST_F(CliTest, TokenIsSentAsConsulTokenHeaderAndUrlSchemeIsAccepted) {
  on("GET", "/v1/agent/members", 200, "[]");
  CliRun result = run_raw({"members", "-token", "s3cret", "--http-addr=http://" + agent_.address() + "/"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(only_request().headers["x-consul-token"], "s3cret");
  EXPECT_EQ(result.out, "Node  Address  Status  Tags\n");
}

TEST_F(CliTest, PermissionDeniedNamesTheStatusAndSuggestsAToken) {
  on("GET", "/v1/agent/members", 403, "ACL not found");
  CliRun result = run({"members"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Error! Failed to list members: Unexpected response code: 403 (ACL not found)"));
  EXPECT_THAT(result.err, HasSubstr("-token"));
  EXPECT_THAT(result.out, IsEmpty());
}

const char* const kNodes = R"([
  {"ID": "4e6d2f7a-1111-2222-3333-444455556666", "Node": "web-7", "Address": "10.0.0.7",
   "Datacenter": "dc1", "Meta": {"role": "web", "env": "prod"}},
  {"ID": "0badc0de-1111-2222-3333-444455556666", "Node": "db-1", "Address": "10.0.0.1",
   "Datacenter": "dc1", "Meta": {}}
])";

TEST_F(CliTest, CatalogNodesFiltersByTagsAsNodeMeta) {
  on("GET", "/v1/catalog/nodes", 200, kNodes);
  CliRun result = run({"catalog", "nodes", "-tag", "role=web", "-tag=env=prod"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(only_request().target, "/v1/catalog/nodes?node-meta=role:web&node-meta=env:prod");
  EXPECT_EQ(result.out,
            "Node   ID        Address   DC   Tags\n"
            "db-1   0badc0de  10.0.0.1  dc1\n"
            "web-7  4e6d2f7a  10.0.0.7  dc1  env=prod,role=web\n");
}

TEST_F(CliTest, CatalogNodesEscapesTagValues) {
  on("GET", "/v1/catalog/nodes", 200, "[]");
  CliRun result = run({"catalog", "nodes", "-tag", "owner=ops team&co"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(only_request().target, "/v1/catalog/nodes?node-meta=owner:ops%20team%26co");
  EXPECT_THAT(result.err, HasSubstr("No nodes match"));
}

TEST_F(CliTest, CatalogNodesRejectsATagWithoutValueBeforeCallingTheAgent) {
  CliRun result = run({"catalog", "nodes", "-tag", "role"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("key=value"));
  EXPECT_THAT(result.err, HasSubstr("roster catalog nodes -help"));
  EXPECT_THAT(agent_.requests(), IsEmpty());
}

TEST_F(CliTest, CatalogServicesListsNamesAndOptionallyTags) {
  on("GET", "/v1/catalog/services", 200, R"({"consul": [], "web": ["v2", "canary"], "redis": ["primary"]})");
  CliRun names = run({"catalog", "services"});
  ASSERT_EQ(names.exit_code, 0) << names.err;
  EXPECT_EQ(names.out, "consul\nredis\nweb\n");

  CliRun tagged = run({"catalog", "services", "-tags"});
  ASSERT_EQ(tagged.exit_code, 0) << tagged.err;
  EXPECT_EQ(tagged.out, "consul\nredis   primary\nweb     canary,v2\n");
  for (const auto& request : agent_.requests()) EXPECT_EQ(request.target, "/v1/catalog/services");
}

TEST_F(CliTest, CatalogWithoutSubcommandIsAUsageError) {
  CliRun result = run({"catalog"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("roster catalog -help"));
}

json kv_pair(const std::string& key, const std::string& value, int modify_index = 12) {
  return {{"Key", key},         {"Value", base64_encode(value)}, {"Flags", 0}, {"CreateIndex", 10},
          {"ModifyIndex", modify_index}, {"LockIndex", 0}, {"Session", ""}};
}

TEST_F(CliTest, KvGetPrintsTheDecodedValue) {
  on("GET", "/v1/kv/app/motd", 200, json::array({kv_pair("app/motd", "hello, fleet")}).dump());
  CliRun result = run({"kv", "get", "app/motd"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "hello, fleet\n");
  auto request = only_request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/v1/kv/app/motd");
}

TEST_F(CliTest, KvGetEscapesTheKey) {
  on("GET", "/v1/kv/app/db conn", 200, "[]");  // Beast leaves the target encoded
  CliRun result = run({"kv", "get", "app/db conn?"});
  EXPECT_EQ(only_request().target, "/v1/kv/app/db%20conn%3F");
}

TEST_F(CliTest, KvGetRecursePrintsKeyValueLines) {
  on("GET", "/v1/kv/app/", 200,
     json::array({kv_pair("app/a", "1"), kv_pair("app/b", "two"), json{{"Key", "app/empty"}, {"Value", nullptr}}})
         .dump());
  CliRun result = run({"kv", "get", "-recurse", "app/"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(only_request().target, "/v1/kv/app/?recurse");
  EXPECT_EQ(result.out, "app/a:1\napp/b:two\napp/empty:\n");
}

TEST_F(CliTest, KvGetDetailedPrintsTheIndexes) {
  on("GET", "/v1/kv/app/motd", 200, json::array({kv_pair("app/motd", "hi", 42)}).dump());
  CliRun result = run({"kv", "get", "-detailed", "app/motd"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "CreateIndex  10\n"
            "Flags        0\n"
            "Key          app/motd\n"
            "LockIndex    0\n"
            "ModifyIndex  42\n"
            "Session      -\n"
            "Value        hi\n");
}

TEST_F(CliTest, KvGetOfAMissingKeyFails) {
  on("GET", "/v1/kv/app/nope", 404, "");
  CliRun result = run({"kv", "get", "app/nope"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "Error! No key exists at: app/nope\n");
  EXPECT_THAT(result.out, IsEmpty());
}

TEST_F(CliTest, KvGetRejectsAValueThatIsNotBase64) {
  on("GET", "/v1/kv/app/motd", 200, R"([{"Key": "app/motd", "Value": "not base64!"}])");
  CliRun result = run({"kv", "get", "app/motd"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("not valid base64"));
}

TEST_F(CliTest, KvGetWithoutKeyIsAUsageError) {
  CliRun result = run({"kv", "get"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Missing KEY argument"));
  EXPECT_THAT(agent_.requests(), IsEmpty());
}

TEST_F(CliTest, KvPutSendsTheRawValue) {
  on("PUT", "/v1/kv/app/motd", 200, "true");
  CliRun result = run({"kv", "put", "app/motd", "hello world"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Success! Data written to: app/motd\n");
  auto request = only_request();
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.target, "/v1/kv/app/motd");
  EXPECT_EQ(request.body, "hello world");
}

TEST_F(CliTest, KvPutDashReadsStdin) {
  on("PUT", "/v1/kv/app/cert", 200, "true");
  CliRun result = run({"kv", "put", "app/cert", "-"}, "line one\nline two\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(only_request().body, "line one\nline two\n");
}

TEST_F(CliTest, KvPutCasSendsFlagsAndIndexAndReportsAFailedCas) {
  on("PUT", "/v1/kv/app/lock", 200, "false");
  CliRun result = run({"kv", "put", "-flags", "42", "-cas", "-modify-index=7", "app/lock", "mine"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(only_request().target, "/v1/kv/app/lock?flags=42&cas=7");
  EXPECT_EQ(result.err, "Error! Did not write to app/lock: CAS failed\n");
}

TEST_F(CliTest, KvPutCasNeedsAModifyIndex) {
  CliRun result = run({"kv", "put", "-cas", "app/lock", "mine"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("-modify-index"));
  EXPECT_THAT(agent_.requests(), IsEmpty());
}

TEST_F(CliTest, KvPutAsJsonReportsSuccess) {
  on("PUT", "/v1/kv/a", 200, "true");
  CliRun result = run({"kv", "put", "a", "b", "-format", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out), (json{{"Key", "a"}, {"Success", true}}));
}

TEST_F(CliTest, KvDeleteRecurse) {
  on("DELETE", "/v1/kv/app", 200, "true");
  CliRun result = run({"kv", "delete", "-recurse", "app"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto request = only_request();
  EXPECT_EQ(request.method, "DELETE");
  EXPECT_EQ(request.target, "/v1/kv/app?recurse");
  EXPECT_EQ(result.out, "Success! Deleted keys with prefix: app\n");
}

const char* const kSelf = R"({
  "Config": {"Datacenter": "dc1", "NodeName": "web-7", "NodeID": "4e6d2f7a-1111", "Server": false,
             "Version": "0.1.0"},
  "Stats": {"raft": {"state": "Follower", "term": "3"}, "runtime": {"goroutines": "n/a"}}
})";

const char* const kTagAnswer = R"({
  "Node": "web-7",
  "Operator": {"role": "web"},
  "Runtime": {"stage": "2"},
  "Image": {"role": "base", "os": "debian"},
  "Merged": {"role": "web", "stage": "2", "os": "debian"}
})";

TEST_F(CliTest, TagSetDefaultsToTheLocalNodeAndShowsLayers) {
  on("GET", "/v1/agent/self", 200, kSelf);
  on("PUT", "/v1/roster/node/web-7/tags", 200, kTagAnswer);
  CliRun result = run({"tag", "set", "role=web", "note=a=b"});
  ASSERT_EQ(result.exit_code, 0) << result.err;

  auto requests = agent_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/v1/agent/self");
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].target, "/v1/roster/node/web-7/tags");
  EXPECT_EQ(json::parse(requests[1].body), (json{{"Set", {{"role", "web"}, {"note", "a=b"}}}}));
  EXPECT_EQ(requests[1].headers["content-type"], "application/json");
  EXPECT_EQ(result.out,
            "Key    Value   Layer\n"
            "os     debian  image\n"
            "role   web     operator\n"
            "stage  2       runtime\n");
}

TEST_F(CliTest, TagRmOnANamedNodeSkipsTheSelfLookup) {
  on("PUT", "/v1/roster/node/db-1/tags", 200, R"({"Node": "db-1", "Operator": {}, "Merged": {}})");
  CliRun result = run({"tag", "rm", "-node", "db-1", "maintenance", "canary"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto request = only_request();
  EXPECT_EQ(request.target, "/v1/roster/node/db-1/tags");
  EXPECT_EQ(json::parse(request.body), (json{{"Remove", {"maintenance", "canary"}}}));
  EXPECT_EQ(result.out, "Key  Value  Layer\n");
}

TEST_F(CliTest, TagShowReadsTheLayersWithoutChangingThem) {
  on("GET", "/v1/roster/node/web-7/tags", 200, kTagAnswer);
  CliRun result = run({"tag", "show", "-node", "web-7"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto request = only_request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_THAT(request.body, IsEmpty());
  EXPECT_THAT(result.out, HasSubstr("role   web     operator\n"));
}

TEST_F(CliTest, TagSetAsJsonPrintsTheAgentsAnswer) {
  on("PUT", "/v1/roster/node/web-7/tags", 200, kTagAnswer);
  CliRun result = run({"tag", "set", "-node=web-7", "-format=json", "role=web"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out), json::parse(kTagAnswer));
}

TEST_F(CliTest, TagSetRejectsAnArgumentWithoutEquals) {
  CliRun result = run({"tag", "set", "-node", "web-7", "role"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("key=value"));
  EXPECT_THAT(agent_.requests(), IsEmpty());
}

TEST_F(CliTest, TagSetReportsTheAgentsError) {
  on("PUT", "/v1/roster/node/ghost/tags", 404, "node not found: ghost");
  CliRun result = run({"tag", "set", "-node", "ghost", "role=web"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Error! Failed to update the tags of ghost: Unexpected response code: 404 "
                                    "(node not found: ghost)"));
}

TEST_F(CliTest, InfoPrintsSectionsOfKeyValueLines) {
  on("GET", "/v1/agent/self", 200, kSelf);
  CliRun result = run({"info"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "agent:\n"
            "\tdatacenter = dc1\n"
            "\tnode_id = 4e6d2f7a-1111\n"
            "\tnode_name = web-7\n"
            "\tserver = false\n"
            "\tversion = 0.1.0\n"
            "raft:\n"
            "\tstate = Follower\n"
            "\tterm = 3\n"
            "runtime:\n"
            "\tgoroutines = n/a\n");
}

TEST_F(CliTest, UnreachableAgentIsReportedClearly) {
  const std::string address = "127.0.0.1:" + std::to_string(roster::testing::closed_port());
  CliRun result = run_raw({"members", "-http-addr", address});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("cannot reach the agent at http://" + address +
                                    ": connection refused; is `roster agent` running?"));
}

TEST_F(CliTest, UnknownFlagIsAUsageErrorWithAHint) {
  CliRun result = run({"members", "-bogus"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("--bogus"));
  EXPECT_THAT(result.err, HasSubstr("Run 'roster members -help' for usage."));
  EXPECT_THAT(agent_.requests(), IsEmpty());
}

TEST_F(CliTest, UnknownFormatIsAUsageError) {
  CliRun result = run({"members", "-format=yaml"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("yaml"));
}

TEST_F(CliTest, OverallUsageListsEveryCommand) {
  for (const std::string help : {"--help", "help", "-h", "-help"}) {
    CliRun result = run_raw({help});
    EXPECT_EQ(result.exit_code, 0) << help;
    for (const char* command : {"agent", "members", "catalog", "tag", "kv", "deploy", "info", "validate"}) {
      EXPECT_THAT(result.out, HasSubstr(std::string("    ") + command + " ")) << help;
    }
  }
  CliRun bare = run_raw({});
  EXPECT_EQ(bare.exit_code, 1);
  EXPECT_THAT(bare.err, HasSubstr("Usage: roster"));
}

TEST_F(CliTest, SubcommandHelpShowsItsFlags) {
  CliRun result = run_raw({"kv", "get", "-help"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("roster kv get"));
  EXPECT_THAT(result.out, HasSubstr("--recurse"));
  EXPECT_THAT(result.out, HasSubstr("--http-addr"));

  CliRun via_help = run_raw({"help", "tag"});
  EXPECT_EQ(via_help.exit_code, 0);
  EXPECT_THAT(via_help.out, HasSubstr("operator"));
}

TEST_F(CliTest, UnknownCommandIsAnError) {
  CliRun result = run_raw({"frobnicate"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Unknown command \"frobnicate\""));
}

TEST(CliCommandsTest, IsCliCommandLeavesAgentAndValidateToMain) {
  for (const char* command : {"members", "catalog", "kv", "tag", "deploy", "info", "help", "--help"}) {
    EXPECT_TRUE(is_cli_command(command)) << command;
  }
  EXPECT_FALSE(is_cli_command("agent"));
  EXPECT_FALSE(is_cli_command("validate"));
  EXPECT_FALSE(is_cli_command("frobnicate"));
}

TEST(HttpClientTest, TimesOutOnAnAgentThatNeverAnswers) {
  roster::testing::SilentListener silent;
  Result<HttpResponse> response =
      http_request("GET", silent.address(), "/v1/agent/self", "", std::chrono::milliseconds(300));
  ASSERT_FALSE(response.is_ok());
  EXPECT_EQ(response.status().code(), StatusCode::unavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("did not answer within 300ms"));
}

TEST(HttpClientTest, ReturnsErrorStatusesAndHeadersAsValues) {
  FakeAgent agent;
  agent.on("GET", "/v1/kv/x", CannedResponse{404, "", "application/json"});
  Result<HttpResponse> response = http_request("GET", agent.address(), "/v1/kv/x?recurse");
  ASSERT_TRUE(response.is_ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->headers["Content-Type"], "application/json");
  EXPECT_EQ(agent.requests().at(0).query, "recurse");
}

TEST(HttpClientTest, RejectsAPathWithoutLeadingSlash) {
  Result<HttpResponse> response = http_request("GET", "127.0.0.1:1", "v1/agent/self");
  ASSERT_FALSE(response.is_ok());
  EXPECT_EQ(response.status().code(), StatusCode::invalid_argument);
}

TEST_F(CliTest, EventFiresWithFiltersAndThePayloadAsBody) {
  on("PUT", "/v1/event/fire/deploy", 200,
     R"({"ID": "b54fe110-7af5-cafc-d1fb-afc8ba432b1c", "Name": "deploy", "Payload": "djIuMQ==", "Version": 1})");
  CliRun result = run({"event", "-name", "deploy", "-service", "web api", "-tag", "v[0-9]", "v2.1"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Event ID: b54fe110-7af5-cafc-d1fb-afc8ba432b1c\n");
  auto request = only_request();
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.target, "/v1/event/fire/deploy?service=web%20api&tag=v%5B0-9%5D");
  EXPECT_EQ(request.body, "v2.1");
}

TEST_F(CliTest, EventReportsTheAgentsRefusal) {
  on("PUT", "/v1/event/fire/deploy", 413, "Failed to fire event: user event exceeds the limit of 512 bytes");
  CliRun result = run({"event", "-name", "deploy", std::string(600, 'x')});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("512 bytes"));
}

TEST_F(CliTest, EventTagWithoutServiceIsAUsageError) {
  CliRun result = run({"event", "-name", "deploy", "-tag", "v1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("-tag needs -service"));
  EXPECT_THAT(agent_.requests(), IsEmpty());
}

TEST_F(CliTest, WatchSupportsEventsOnly) {
  CliRun result = run({"watch", "-type", "key"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("supported: event"));
  EXPECT_THAT(run({"watch", "--help"}).out, HasSubstr("-type event"));
}

TEST_F(CliTest, WatchStopsOnAnAgentError) {
  on("GET", "/v1/event/list", 500, "boom");
  CliRun result = run({"watch", "-type", "event", "-name", "deploy"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Failed to list events"));
  EXPECT_EQ(only_request().target, "/v1/event/list?name=deploy");
}

const char* const kDeployNodes = R"([
  {"node": "db-1", "node_id": "id-3", "address": "10.0.0.9", "tags": {}, "state": null, "result": null, "facts": null},
  {"node": "web-1", "node_id": "id-1", "address": "10.0.0.7", "tags": {"role": "web"},
   "state": {"node": "web-1", "hash": "0123456789abcdef0123", "applied_hash": "0123456789abcdef0123", "generation": 4,
             "run_id": "000042", "status": "applied", "attempts": 1, "error": "", "updated_unix_ms": 1700000000000},
   "result": {"node": "web-1", "generation": 4, "run_id": "000042", "status": "applied", "changed": 1,
              "started_unix_ms": 1700000000500, "finished_unix_ms": 1700000001000,
              "tasks": [{"name": "packages", "module": "package", "status": "ok", "message": "", "diff": ""},
                        {"name": "message of the day", "module": "copy", "status": "changed", "message": "", "diff": "+hi"}],
              "handlers": [{"name": "restart motd", "module": "service", "status": "changed", "message": "", "diff": ""}]},
   "facts": null},
  {"node": "web-2", "node_id": "id-2", "address": "10.0.0.8", "tags": {"role": "web"},
   "state": {"node": "web-2", "hash": "fedcba9876543210", "generation": 2, "run_id": "000042", "status": "failed",
             "updated_unix_ms": 1700000002000},
   "result": {"node": "web-2", "generation": 2, "run_id": "000042", "status": "failed", "changed": 0,
              "finished_unix_ms": 1700000001500,
              "tasks": [{"name": "install nginx", "module": "package", "status": "failed",
                         "message": "apt: no such package", "diff": ""}]},
   "facts": null}
])";

const char* const kFinishedRun = R"({"id": "000042", "trigger": "node web-1 retagged", "started_unix_ms": 1700000000000,
  "finished_unix_ms": 1700000005000, "total": 3, "done": 3, "failed": 1, "modify_index": 12,
  "nodes": {"web-1": {"status": "applied", "generation": 4},
            "web-2": {"status": "failed", "generation": 2},
            "db-1": {"status": "held", "error": "re-configured 5 times in 10m"}}})";

TEST_F(CliTest, DeployStatusPrintsEveryNodesState) {
  on("GET", "/v1/roster/deploy/nodes", 200, kDeployNodes);
  CliRun result = run({"deploy", "status"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(only_request().target, "/v1/roster/deploy/nodes");
  std::istringstream lines(result.out);
  std::string header, db, web1, web2;
  std::getline(lines, header);
  std::getline(lines, db);
  std::getline(lines, web1);
  std::getline(lines, web2);
  EXPECT_THAT(header, HasSubstr("Node"));
  EXPECT_THAT(header, HasSubstr("Failed task/error"));
  EXPECT_THAT(db, HasSubstr("db-1"));
  EXPECT_THAT(web1, HasSubstr("applied  0123456789ab  4"));
  EXPECT_THAT(web1, Not(HasSubstr("0123456789abc")));
  EXPECT_THAT(web1, HasSubstr("2023-11-14 22:13:21Z"));
  EXPECT_THAT(web2, HasSubstr("failed"));
  EXPECT_THAT(web2, HasSubstr("install nginx: apt: no such package"));
  EXPECT_THAT(web2, HasSubstr("2023-11-14 22:13:22Z"));
}

TEST_F(CliTest, DeployStatusOfOneNodeAndOfAnUnknownOne) {
  on("GET", "/v1/roster/deploy/nodes/web-1", 200, json::parse(kDeployNodes)[1].dump());
  CliRun result = run({"deploy", "status", "-node", "web-1", "-format=json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out)["state"]["generation"], 4);
  CliRun missing = run({"deploy", "status", "-node", "ghost"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("ghost"));
}

TEST_F(CliTest, DeployWatchOfAFinishedRunPrintsItsResultsAndRecap) {
  on("GET", "/v1/roster/deploy/runs/000042", 200, kFinishedRun);
  on("GET", "/v1/roster/deploy/nodes", 200, kDeployNodes);
  CliRun result = run({"deploy", "watch", "-run", "000042", "-timeout", "30s"});
  EXPECT_EQ(result.exit_code, 2) << "a node failed\n" << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("run 000042 (node web-1 retagged): 3 node(s)\n"));
  EXPECT_THAT(result.out, HasSubstr("ok: [web-1] => packages\n"));
  EXPECT_THAT(result.out, HasSubstr("changed: [web-1] => message of the day\n"));
  EXPECT_THAT(result.out, HasSubstr("changed: [web-1] => restart motd (handler)\n"));
  EXPECT_THAT(result.out, HasSubstr("failed: [web-2] => install nginx: apt: no such package\n"));
  EXPECT_THAT(result.out, HasSubstr("held: [db-1] => not run: re-configured 5 times in 10m\n"));
  EXPECT_THAT(result.out, HasSubstr("run 000042: 3/3 done, 1 failed\n"));
  EXPECT_THAT(result.out, HasSubstr("RECAP run 000042"));
  EXPECT_THAT(result.out, HasSubstr("ok=1  changed=2  failed=0"));
}

TEST_F(CliTest, DeployWatchOfAnUnknownRunFails) {
  CliRun result = run({"deploy", "watch", "-run", "000099"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Failed to read run 000099"));
}

TEST_F(CliTest, DeployWatchRejectsABadTimeout) {
  CliRun result = run({"deploy", "watch", "-timeout", "soon"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("-timeout"));
  EXPECT_TRUE(agent_.requests().empty());
}

}  // namespace
}  // namespace roster::cli
