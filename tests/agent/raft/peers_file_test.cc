#include "agent/raft/peers_file.h"

#include <gtest/gtest.h>

namespace roster::raft {
namespace {

Result<Configuration> parse(std::string_view text) { return parse_peers_file(text, parse_server_number); }

// The message of the error `text` is refused with ("" when it is accepted).
std::string refusal(std::string_view text) {
  Result<Configuration> configuration = parse(text);
  if (configuration.is_ok()) return "";
  EXPECT_EQ(configuration.status().code(), StatusCode::invalid_argument);
  return configuration.status().message();
}

TEST(PeersFileTest, ReadsConsulsVersionThreeFormat) {
  Result<Configuration> configuration = parse(R"([
    {"id": "11", "address": "10.1.0.1:8300", "non_voter": false},
    {"id": "12", "address": "10.1.0.2:8300"},
    {"id": "13", "address": "10.1.0.3:8300", "non_voter": true, "comment": "ignored, as Consul does"}
  ])");
  ASSERT_TRUE(configuration.is_ok()) << configuration.status().to_string();
  EXPECT_EQ(configuration->servers, (std::vector<Server>{{11, "10.1.0.1:8300", true},
                                                         {12, "10.1.0.2:8300", true},
                                                         {13, "10.1.0.3:8300", false}}));
}

TEST(PeersFileTest, TheCallerSaysHowAnIdNamesAServer) {
  auto by_name = [](const std::string& id) -> Result<ServerId> {
    if (id == "alpha") return ServerId{7};
    return Status::invalid_argument("unknown server " + id);
  };
  Result<Configuration> configuration = parse_peers_file(R"([{"id": "alpha", "address": "[::1]:8300"}])", by_name);
  ASSERT_TRUE(configuration.is_ok()) << configuration.status().to_string();
  EXPECT_EQ(configuration->servers, (std::vector<Server>{{7, "[::1]:8300", true}}));

  configuration = parse_peers_file(R"([{"id": "alpha", "address": "10.0.0.1:8300"},
                                       {"id": "beta", "address": "10.0.0.2:8300"}])", by_name);
  ASSERT_FALSE(configuration.is_ok());
  EXPECT_EQ(configuration.status().message(), "server 2 of the list: unknown server beta");
}

TEST(PeersFileTest, RefusesWhatIsNotAListOfServers) {
  EXPECT_EQ(refusal("[{\"id\": \"1\", "), "not valid JSON");
  EXPECT_EQ(refusal(""), "not valid JSON");
  EXPECT_NE(refusal(R"({"id": "1", "address": "10.0.0.1:8300"})").find("must be a JSON array"), std::string::npos);
  EXPECT_EQ(refusal("[]"), "lists no server");
  EXPECT_NE(refusal(R"(["10.0.0.1:8300", "10.0.0.2:8300"])").find("raft protocol 2 format"), std::string::npos);
  EXPECT_EQ(refusal("[3]"), "server 1 of the list: not a JSON object");
}

TEST(PeersFileTest, RefusesAnEntryWithoutAUsableIdOrAddress) {
  const std::string ok = R"({"id": "1", "address": "10.0.0.1:8300"}, )";
  EXPECT_NE(refusal("[" + ok + R"({"address": "10.0.0.2:8300"}])").find("server 2 of the list: no \"id\""),
            std::string::npos);
  EXPECT_NE(refusal(R"([{"id": 2, "address": "10.0.0.2:8300"}])").find("no \"id\""), std::string::npos);
  EXPECT_NE(refusal(R"([{"id": "", "address": "10.0.0.2:8300"}])").find("no \"id\""), std::string::npos);
  EXPECT_EQ(refusal(R"([{"id": "two", "address": "10.0.0.2:8300"}])"),
            "server 1 of the list: id \"two\" is not a Raft server number");
  EXPECT_EQ(refusal(R"([{"id": "0", "address": "10.0.0.2:8300"}])"),
            "server 1 of the list: id \"0\" is not a Raft server number");
  EXPECT_NE(refusal("[" + ok + R"({"id": "2"}])").find("server 2 of the list: no \"address\""), std::string::npos);
  for (const char* address : {"10.0.0.2", "10.0.0.2:", "10.0.0.2:0", "10.0.0.2:70000", "server-2:8300", ""}) {
    EXPECT_NE(refusal(R"([{"id": "2", "address": ")" + std::string(address) + "\"}]").find("is not an IP address and a port"),
              std::string::npos)
        << address;
  }
  EXPECT_EQ(refusal(R"([{"id": "2", "address": "10.0.0.2:8300", "non_voter": "no"}])"),
            "server 1 of the list: \"non_voter\" is not true or false");
}

TEST(PeersFileTest, RefusesRepeatsAndAListWithoutAVoter) {
  EXPECT_EQ(refusal(R"([{"id": "1", "address": "10.0.0.1:8300"}, {"id": "1", "address": "10.0.0.2:8300"}])"),
            "server 2 of the list: id \"1\" names the same server as server 1");
  EXPECT_EQ(refusal(R"([{"id": "1", "address": "10.0.0.1:8300"}, {"id": "2", "address": "10.0.0.1:8300"}])"),
            "server 2 of the list: address 10.0.0.1:8300 is also server 1's");
  EXPECT_NE(refusal(R"([{"id": "1", "address": "10.0.0.1:8300", "non_voter": true}])").find("lists no voter"),
            std::string::npos);
}

}  // namespace
}  // namespace roster::raft
