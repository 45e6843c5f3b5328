#include "common/duration.h"

#include <gtest/gtest.h>

namespace roster {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(GoDurationTest, ParsesConsulWaitForms) {
  EXPECT_EQ(*parse_go_duration("9.73s"), milliseconds(9730));
  EXPECT_EQ(*parse_go_duration("60000ms"), seconds(60));
  EXPECT_EQ(*parse_go_duration("5m"), seconds(300));
  EXPECT_EQ(*parse_go_duration("1h2m3s"), seconds(3723));
  EXPECT_EQ(*parse_go_duration("250us"), std::chrono::microseconds(250));
  EXPECT_EQ(*parse_go_duration("0"), seconds(0));
}

// Go's time.ParseDuration("5") fails with "missing unit"; Consul answers
// ?wait=5 with a 400 because of it.
TEST(GoDurationTest, ABareNumberOtherThanZeroNeedsAUnit) {
  for (const char* text : {"5", "10", "0.5", "1s5"}) {
    auto parsed = parse_go_duration(text);
    EXPECT_FALSE(parsed.is_ok()) << text;
  }
  EXPECT_EQ(*parse_go_duration("0"), seconds(0));
}

TEST(GoDurationTest, RejectsGarbage) {
  for (const char* text : {"", "-5s", "abc", "5x", "s", "1.2.3s", "5s5", ".s", "99999999999999999h"}) {
    auto parsed = parse_go_duration(text);
    EXPECT_FALSE(parsed.is_ok()) << text;
    if (!parsed.is_ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::invalid_argument) << text;
    }
  }
}

TEST(GoDurationTest, FormatsLikeGo) {
  EXPECT_EQ(format_go_duration(seconds(0)), "0s");
  EXPECT_EQ(format_go_duration(seconds(10)), "10s");
  EXPECT_EQ(format_go_duration(seconds(90)), "1m30s");
  EXPECT_EQ(format_go_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_go_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_go_duration(seconds(3723)), "1h2m3s");
}

}  // namespace
}  // namespace roster
