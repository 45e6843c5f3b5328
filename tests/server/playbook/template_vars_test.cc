#include "server/playbook/template_vars.h"

#include <gtest/gtest.h>

namespace roster::deploy {
namespace {

std::vector<std::string> names(const TemplateScan& scan) {
  std::vector<std::string> out;
  for (const TemplateReference& reference : scan.references) out.push_back(reference.name);
  return out;
}

TEST(TemplateScanTest, FindsVariablesWithTheirLines) {
  TemplateScan scan = scan_template("a {{ one }}\n{{{two}}} {{& three }}\n\n{{four.five}}");
  EXPECT_TRUE(scan.errors.empty());
  EXPECT_EQ(names(scan), (std::vector<std::string>{"one", "two", "three", "four.five"}));
  EXPECT_EQ(scan.references[0].line, 1);
  EXPECT_EQ(scan.references[1].line, 2);
  EXPECT_EQ(scan.references[3].line, 4);
}

TEST(TemplateScanTest, SectionsAreReferencesAndEnclose) {
  TemplateScan scan = scan_template("{{#a}}\n{{b}}{{^c}}{{.}}{{/c}}\n{{/a}}{{d}}");
  EXPECT_TRUE(scan.errors.empty());
  EXPECT_EQ(names(scan), (std::vector<std::string>{"a", "b", "c", ".", "d"}));
  EXPECT_EQ(scan.references[1].sections, std::vector<std::string>{"a"});
  EXPECT_EQ(scan.references[3].sections, (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(scan.references[4].sections.empty());
}

TEST(TemplateScanTest, CommentsAndPartialsNameNoVariable) {
  TemplateScan scan = scan_template("{{! a comment with {{x}} }}{{> partial}}{{y}}");
  EXPECT_EQ(names(scan), (std::vector<std::string>{"y"}));
}

TEST(TemplateScanTest, DelimiterChanges) {
  TemplateScan scan = scan_template("{{=<% %>=}}\n<% a %> {{not}}\n<%={{ }}=%>{{b}}");
  EXPECT_TRUE(scan.errors.empty());
  EXPECT_EQ(names(scan), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(scan.references[0].line, 2);
}

TEST(TemplateScanTest, FirstLineOffsetsLines) {
  TemplateScan scan = scan_template("x\n{{y}}", 10);
  ASSERT_EQ(scan.references.size(), 1u);
  EXPECT_EQ(scan.references[0].line, 11);
}

TEST(TemplateScanTest, MalformedTemplatesAreErrors) {
  EXPECT_EQ(scan_template("a\n{{ b").errors.at(0).first, 2);
  EXPECT_EQ(scan_template("{{#a}}\nx").errors.at(0).first, 1);
  EXPECT_EQ(scan_template("\n{{/a}}").errors.at(0).first, 2);
  EXPECT_FALSE(scan_template("{{#a}}{{/b}}").errors.empty());
  EXPECT_FALSE(scan_template("{{}}").errors.empty());
  EXPECT_FALSE(scan_template("{{=<%=}}").errors.empty());
}

}  // namespace
}  // namespace roster::deploy
