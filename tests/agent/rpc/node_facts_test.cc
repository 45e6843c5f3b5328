#include "agent/rpc/node_facts.h"

#include <gtest/gtest.h>

namespace roster::rpc {
namespace {

TEST(NodeFactsTest, PrettyNameFromOsRelease) {
  EXPECT_EQ(pretty_name_from_os_release("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
            "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(pretty_name_from_os_release("PRETTY_NAME='Alpine \\\"edge\\\"'"), "Alpine \"edge\"");
  EXPECT_EQ(pretty_name_from_os_release("PRETTY_NAME=Plain"), "Plain");
  EXPECT_EQ(pretty_name_from_os_release("NAME=x\n"), "");
}

TEST(NodeFactsTest, ThisMachineHasCpusAndMemory) {
  deploy_records::NodeFacts facts = read_node_facts("here");
  EXPECT_EQ(facts.hostname, "here");
  EXPECT_GT(facts.cpus, 0);
  EXPECT_GT(facts.memory_bytes, 0u);
}

}  // namespace
}  // namespace roster::rpc
