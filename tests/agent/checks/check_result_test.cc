#include "agent/checks/check_result.h"

#include <gtest/gtest.h>

namespace roster::checks {
namespace {

TEST(TruncateOutput, KeepsShortOutput) { EXPECT_EQ(truncate_output("hello", 5), "hello"); }

TEST(TruncateOutput, CutsToLimit) { EXPECT_EQ(truncate_output("hello world", 5), "hello"); }

TEST(TruncateOutput, NeverSplitsAUtf8Character) {
  // "héllo": 'é' is two bytes at offsets 1 and 2; a cut at 2 would split it.
  EXPECT_EQ(truncate_output("h\xC3\xA9llo", 2), "h");
  EXPECT_EQ(truncate_output("h\xC3\xA9llo", 3), "h\xC3\xA9");
}

TEST(CheckStatus, OnlyConsulStatusesAreValid) {
  EXPECT_TRUE(is_valid_check_status("passing"));
  EXPECT_TRUE(is_valid_check_status("warning"));
  EXPECT_TRUE(is_valid_check_status("critical"));
  EXPECT_FALSE(is_valid_check_status("maintenance"));
  EXPECT_FALSE(is_valid_check_status(""));
}

}  // namespace
}  // namespace roster::checks
