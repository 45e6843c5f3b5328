#include "agent/checks/http_url.h"

#include <gtest/gtest.h>

namespace roster::checks {
namespace {

TEST(ParseHttpUrl, HostPortAndTarget) {
  auto url = parse_http_url("http://127.0.0.1:8080/health?verbose=1");
  ASSERT_TRUE(url.is_ok()) << url.status().to_string();
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "8080");
  EXPECT_EQ(url->target, "/health?verbose=1");
  EXPECT_EQ(url->host_header, "127.0.0.1:8080");
}

TEST(ParseHttpUrl, DefaultPortsAndTarget) {
  auto plain = parse_http_url("HTTP://example.com");
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->target, "/");
  auto tls = parse_http_url("https://example.com?x=1#frag");
  ASSERT_TRUE(tls.is_ok());
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->port, "443");
  EXPECT_EQ(tls->target, "/?x=1");
}

TEST(ParseHttpUrl, BracketedIpv6) {
  auto url = parse_http_url("http://[::1]:9000/ping");
  ASSERT_TRUE(url.is_ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, "9000");
  EXPECT_EQ(url->host_header, "[::1]:9000");
}

TEST(ParseHttpUrl, RejectsWhatItCannotFetch) {
  for (const char* bad : {"127.0.0.1:80/health", "ftp://host/", "http://", "http://host:0/", "http://host:99999/",
                          "http://host:abc/", "http://user:pw@host/", "http://[::1/", "http://::1:80/"}) {
    auto url = parse_http_url(bad);
    EXPECT_FALSE(url.is_ok()) << bad;
    if (!url.is_ok()) {
      EXPECT_EQ(url.status().code(), StatusCode::invalid_argument) << bad;
    }
  }
}

TEST(SplitHostPort, RequiresPort) {
  auto v4 = split_host_port("127.0.0.1:22");
  ASSERT_TRUE(v4.is_ok());
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, "22");
  auto v6 = split_host_port("[::1]:22");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_FALSE(split_host_port("localhost").is_ok());
  EXPECT_FALSE(split_host_port(":22").is_ok());
}

}  // namespace
}  // namespace roster::checks
