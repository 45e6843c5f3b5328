#include "common/status.h"

#include <gtest/gtest.h>

namespace roster {
namespace {

TEST(StatusTest, OkByDefault) {
  Status status;
  EXPECT_TRUE(status.is_ok());
  EXPECT_EQ(status.to_string(), "ok");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status status = Status::conflict("CAS index 7 does not match 9");
  EXPECT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::conflict);
  EXPECT_EQ(status.to_string(), "conflict: CAS index 7 does not match 9");
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> good = 42;
  ASSERT_TRUE(good.is_ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = Status::not_found("no such key");
  EXPECT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::not_found);
}

}  // namespace
}  // namespace roster
