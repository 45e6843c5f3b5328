#include "server/playbook/selector.h"

#include <gtest/gtest.h>

namespace roster::deploy {
namespace {

Selector parse(const std::string& text) {
  Result<Selector> selector = Selector::parse(text);
  EXPECT_TRUE(selector.is_ok()) << text << ": " << selector.status().message();
  return selector.is_ok() ? *selector : Selector();
}

std::string parse_error(const std::string& text) {
  Result<Selector> selector = Selector::parse(text);
  EXPECT_FALSE(selector.is_ok()) << "\"" << text << "\" parsed, but should not";
  return selector.is_ok() ? "" : selector.status().message();
}

TEST(SelectorTest, EqualsMatchesOnlyThatValue) {
  Selector selector = parse("role=web");
  EXPECT_TRUE(selector.matches({{"role", "web"}}));
  EXPECT_TRUE(selector.matches({{"role", "web"}, {"env", "qa"}}));
  EXPECT_FALSE(selector.matches({{"role", "db"}}));
  EXPECT_FALSE(selector.matches({}));
  EXPECT_TRUE(parse("role==web").matches({{"role", "web"}}));
}

TEST(SelectorTest, NotEqualsAlsoMatchesAnAbsentKey) {
  Selector selector = parse("role!=web");
  EXPECT_FALSE(selector.matches({{"role", "web"}}));
  EXPECT_TRUE(selector.matches({{"role", "db"}}));
  EXPECT_TRUE(selector.matches({}));
}

TEST(SelectorTest, InAndNotIn) {
  Selector in = parse("env in (qa,prod)");
  EXPECT_TRUE(in.matches({{"env", "qa"}}));
  EXPECT_TRUE(in.matches({{"env", "prod"}}));
  EXPECT_FALSE(in.matches({{"env", "dev"}}));
  EXPECT_FALSE(in.matches({}));
  Selector not_in = parse("env notin (dev)");
  EXPECT_FALSE(not_in.matches({{"env", "dev"}}));
  EXPECT_TRUE(not_in.matches({{"env", "prod"}}));
  EXPECT_TRUE(not_in.matches({}));
}

TEST(SelectorTest, PresenceAndAbsence) {
  EXPECT_TRUE(parse("maintenance").matches({{"maintenance", "yes"}}));
  EXPECT_FALSE(parse("maintenance").matches({}));
  EXPECT_TRUE(parse("!maintenance").matches({{"role", "web"}}));
  EXPECT_FALSE(parse("!maintenance").matches({{"maintenance", "yes"}}));
}

TEST(SelectorTest, CommasMeanAnd) {
  Selector selector = parse("role=web, env in (qa, prod) ,!maintenance");
  ASSERT_EQ(selector.terms().size(), 3u);
  EXPECT_TRUE(selector.matches({{"role", "web"}, {"env", "qa"}}));
  EXPECT_FALSE(selector.matches({{"role", "web"}, {"env", "qa"}, {"maintenance", "1"}}));
  EXPECT_FALSE(selector.matches({{"role", "web"}, {"env", "dev"}}));
  EXPECT_FALSE(selector.matches({{"env", "qa"}}));
}

TEST(SelectorTest, AllMatchesEveryNode) {
  Selector selector = parse("all");
  EXPECT_TRUE(selector.matches_all());
  EXPECT_TRUE(selector.matches({}));
  EXPECT_TRUE(selector.matches({{"role", "web"}}));
}

TEST(SelectorTest, ParsesTermsIntoPlainData) {
  Selector selector = parse("role=web,env notin (dev,test),!maintenance,gpu");
  std::vector<SelectorTerm> expected = {
      {"role", SelectorOp::equals, {"web"}},
      {"env", SelectorOp::not_in, {"dev", "test"}},
      {"maintenance", SelectorOp::not_exists, {}},
      {"gpu", SelectorOp::exists, {}},
  };
  EXPECT_EQ(selector.terms(), expected);
}

TEST(SelectorTest, KeysAndValuesMayHoldDotsSlashesAndColons) {
  Selector selector = parse("example.com/team=infra,version=1.2:3");
  EXPECT_TRUE(selector.matches({{"example.com/team", "infra"}, {"version", "1.2:3"}}));
}

TEST(SelectorTest, MalformedSelectorsSayWhere) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("   ").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("role=").find("column 6"), std::string::npos);
  EXPECT_NE(parse_error("=web").find("column 1"), std::string::npos);
  EXPECT_NE(parse_error("role=web,").find("after ','"), std::string::npos);
  EXPECT_NE(parse_error(",role=web").find("column 1"), std::string::npos);
  EXPECT_NE(parse_error("role=web,,env=qa").find("column 10"), std::string::npos);
  EXPECT_NE(parse_error("env in (qa,prod").find("not closed"), std::string::npos);
  EXPECT_NE(parse_error("env in qa").find("'('"), std::string::npos);
  EXPECT_NE(parse_error("env in ()").find("expected a value"), std::string::npos);
  EXPECT_NE(parse_error("env in (qa,)").find("expected a value"), std::string::npos);
  EXPECT_NE(parse_error("env in (qa prod)").find("expected ',' or ')'"), std::string::npos);
  EXPECT_NE(parse_error("env >= 3").find("after key \"env\""), std::string::npos);
  EXPECT_NE(parse_error("role!web").find("'!='"), std::string::npos);
  EXPECT_NE(parse_error("!").find("tag key"), std::string::npos);
  EXPECT_NE(parse_error("role=web env=qa").find("column"), std::string::npos);
  EXPECT_NE(parse_error("role=w(eb").find("column 7"), std::string::npos);
  EXPECT_NE(parse_error("env isin (qa)").find("after key"), std::string::npos);
}

TEST(SelectorTest, ErrorsQuoteTheSelector) {
  Result<Selector> selector = Selector::parse("role=");
  ASSERT_FALSE(selector.is_ok());
  EXPECT_EQ(selector.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(selector.status().message().find("\"role=\""), std::string::npos);
}

TEST(SelectorTest, SelectableKeys) {
  EXPECT_TRUE(is_selectable_key("example.com/team-a_b"));
  EXPECT_FALSE(is_selectable_key(""));
  EXPECT_FALSE(is_selectable_key("role web"));
  EXPECT_FALSE(is_selectable_key("env=qa"));
  EXPECT_FALSE(is_selectable_key(std::string(129, 'a')));
  EXPECT_TRUE(is_selectable_key(std::string(128, 'a')));
}

TEST(SelectorOverlapTest, DifferentValuesOfOneKeyNeverOverlap) {
  EXPECT_FALSE(selectors_can_overlap(parse("role=web"), parse("role=db")));
  EXPECT_FALSE(selectors_can_overlap(parse("env in (qa,prod)"), parse("env=dev")));
  EXPECT_FALSE(selectors_can_overlap(parse("role=web"), parse("role!=web")));
  EXPECT_FALSE(selectors_can_overlap(parse("env in (qa)"), parse("env notin (qa)")));
  EXPECT_FALSE(selectors_can_overlap(parse("maintenance"), parse("!maintenance")));
  EXPECT_FALSE(selectors_can_overlap(parse("role=web"), parse("!role")));
}

TEST(SelectorOverlapTest, IndependentOrCompatibleTermsOverlap) {
  EXPECT_TRUE(selectors_can_overlap(parse("role=web"), parse("env=prod")));
  EXPECT_TRUE(selectors_can_overlap(parse("role=web"), parse("all")));
  EXPECT_TRUE(selectors_can_overlap(parse("env in (qa,prod)"), parse("env notin (qa)")));
  EXPECT_TRUE(selectors_can_overlap(parse("role=web"), parse("role")));
  EXPECT_TRUE(selectors_can_overlap(parse("!maintenance"), parse("role=web,!maintenance")));
  EXPECT_TRUE(selectors_can_overlap(parse("role!=web"), parse("role!=db")));
  EXPECT_TRUE(selectors_can_overlap(parse("role=web"), parse("role=web")));
}

TEST(SelectorOverlapTest, ASelectorThatMatchesNothingOverlapsNothing) {
  EXPECT_FALSE(selectors_can_overlap(parse("role=web,role=db"), parse("all")));
}

}  // namespace
}  // namespace roster::deploy
