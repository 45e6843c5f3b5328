#include "agent/config/agent_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/agent/config/temp_dir.h"

namespace roster::config {
namespace {

using std::chrono::seconds;
using testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string describe(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& error : errors) out += error.to_string() + "\n";
  return out;
}

TEST(AgentConfigTest, ParsesEveryKey) {
  TempDir dir;
  std::string file = dir.write("agent.yaml", R"(
node_name: web-7
datacenter: EU-West
data_dir: /var/lib/roster
bind_addr: 10.0.0.7
advertise_addr: 192.168.1.7
client_addr: 0.0.0.0
ports:
  http: 8600
log_level: DEBUG
enable_script_checks: true
tags:
  role: web
  env: prod
  rack: 12
services:
  - id: web-1
    name: web
    tags: [primary, v2]
    address: 10.0.0.7
    port: 8080
    meta:
      version: "2.1"
      empty: ""
    enable_tag_override: true
    check:
      http: http://localhost:8080/health
      method: post
      header:
        X-Token: [abc, def]
        Accept: text/plain
      tls_skip_verify: true
      interval: 1m30s
      timeout: 2s
      deregister_critical_service_after: 90m
checks:
  - id: disk
    name: Disk space
    notes: df -h under 90%
    status: passing
    args: ["/usr/local/bin/check_disk", "-w", "90"]
    interval: 30s
  - name: mem-ttl
    ttl: 15s
  - id: web-tcp
    name: web port
    service_id: web-1
    tcp: 127.0.0.1:8080
    interval: 5s
    timeout: 500ms
)");
  LoadResult result = load_config_sources({file}, {});
  ASSERT_TRUE(result.ok()) << describe(result.errors);
  const AgentConfig& config = result.config;
  EXPECT_EQ(config.node_name, "web-7");
  EXPECT_EQ(config.datacenter, "eu-west");
  EXPECT_EQ(config.data_dir, "/var/lib/roster");
  EXPECT_EQ(config.bind_addr, "10.0.0.7");
  EXPECT_EQ(config.advertise_addr, "192.168.1.7");
  EXPECT_EQ(config.client_addr, "0.0.0.0");
  EXPECT_EQ(config.http_port, 8600);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_TRUE(config.enable_script_checks);
  EXPECT_EQ(config.tags, (std::map<std::string, std::string>{{"role", "web"}, {"env", "prod"}, {"rack", "12"}}));
  EXPECT_THAT(config.config_files, ElementsAre(file));

  ASSERT_EQ(config.services.size(), 1u);
  const local::ServiceDefinition& service = config.services[0];
  EXPECT_EQ(service.id, "web-1");
  EXPECT_EQ(service.name, "web");
  EXPECT_THAT(service.tags, ElementsAre("primary", "v2"));
  EXPECT_EQ(service.address, "10.0.0.7");
  EXPECT_EQ(service.port, 8080);
  EXPECT_EQ(service.meta, (std::map<std::string, std::string>{{"version", "2.1"}, {"empty", ""}}));
  EXPECT_TRUE(service.enable_tag_override);
  ASSERT_EQ(service.checks.size(), 1u);
  const local::CheckDefinition& http = service.checks[0];
  EXPECT_EQ(http.id, "service:web-1");
  EXPECT_EQ(http.name, "Service 'web' check");
  EXPECT_EQ(http.service_id, "web-1");
  EXPECT_EQ(http.type(), "http");
  EXPECT_EQ(http.http, "http://localhost:8080/health");
  EXPECT_EQ(http.http_method, "POST");
  EXPECT_THAT(http.http_headers.at("X-Token"), ElementsAre("abc", "def"));
  EXPECT_THAT(http.http_headers.at("Accept"), ElementsAre("text/plain"));
  EXPECT_TRUE(http.tls_skip_verify);
  EXPECT_EQ(http.interval, seconds(90));
  EXPECT_EQ(http.timeout, seconds(2));
  ASSERT_TRUE(http.deregister_critical_service_after.has_value());
  EXPECT_EQ(*http.deregister_critical_service_after, std::chrono::minutes(90));

  ASSERT_EQ(config.checks.size(), 3u);
  const local::CheckDefinition& disk = config.checks[0];
  EXPECT_EQ(disk.id, "disk");
  EXPECT_EQ(disk.name, "Disk space");
  EXPECT_EQ(disk.notes, "df -h under 90%");
  EXPECT_EQ(disk.status, "passing");
  EXPECT_EQ(disk.type(), "script");
  EXPECT_THAT(disk.args, ElementsAre("/usr/local/bin/check_disk", "-w", "90"));
  EXPECT_EQ(disk.interval, seconds(30));
  EXPECT_EQ(disk.service_id, "");

  const local::CheckDefinition& ttl = config.checks[1];
  EXPECT_EQ(ttl.id, "mem-ttl");  // defaults to the name
  EXPECT_EQ(ttl.type(), "ttl");
  EXPECT_EQ(ttl.ttl, seconds(15));

  const local::CheckDefinition& tcp = config.checks[2];
  EXPECT_EQ(tcp.type(), "tcp");
  EXPECT_EQ(tcp.tcp, "127.0.0.1:8080");
  EXPECT_EQ(tcp.service_id, "web-1");
  EXPECT_EQ(tcp.timeout, std::chrono::milliseconds(500));
}

TEST(AgentConfigTest, DefaultsWhenNothingIsSet) {
  TempDir dir;
  std::string file = dir.write("empty.yaml", "");
  LoadResult result = load_config_sources({file}, {});
  ASSERT_TRUE(result.ok()) << describe(result.errors);
  AgentConfig expected;
  expected.config_files = {file};
  EXPECT_EQ(result.config, expected);
  EXPECT_EQ(result.config.http_port, 8500);
  EXPECT_EQ(result.config.datacenter, "dc1");
  EXPECT_EQ(result.config.client_addr, "127.0.0.1");
}

TEST(AgentConfigTest, AcceptsConsulSpellingsCaseInsensitively) {
  TempDir dir;
  std::string file = dir.write("consul.yaml", R"(
NodeName: db-1
Datacenter: dc2
DataDir: /data
BindAddr: 127.0.0.2
Ports: {HTTP: 9500}
LogLevel: WARN
EnableScriptChecks: yes
NodeMeta: {role: db}
Services:
  - ID: db
    Name: postgres
    Port: 5432
    EnableTagOverride: true
    Checks:
      - TTL: 30s
        DeregisterCriticalServiceAfter: 10m
      - TCP: localhost:5432
        Interval: 10s
        TLSSkipVerify: false
Checks:
  - CheckID: replication
    Name: replication lag
    ServiceID: db
    HTTP: https://localhost:8008/lag
    Method: GET
    Header: {Authorization: [Bearer x]}
    TlsSkipVerify: true
  - Name: backup
    ScriptArgs: [/bin/true]
    Status: Warning
)");
  LoadResult result = load_config_sources({file}, {});
  ASSERT_TRUE(result.ok()) << describe(result.errors);
  const AgentConfig& config = result.config;
  EXPECT_EQ(config.node_name, "db-1");
  EXPECT_EQ(config.datacenter, "dc2");
  EXPECT_EQ(config.data_dir, "/data");
  EXPECT_EQ(config.bind_addr, "127.0.0.2");
  EXPECT_EQ(config.http_port, 9500);
  EXPECT_EQ(config.log_level, "warn");
  EXPECT_TRUE(config.enable_script_checks);
  EXPECT_EQ(config.tags.at("role"), "db");
  ASSERT_EQ(config.services.size(), 1u);
  EXPECT_EQ(config.services[0].id, "db");
  EXPECT_TRUE(config.services[0].enable_tag_override);
  ASSERT_EQ(config.services[0].checks.size(), 2u);
  // Several checks in one service get Consul's numbered ids.
  EXPECT_EQ(config.services[0].checks[0].id, "service:db:1");
  EXPECT_EQ(config.services[0].checks[0].ttl, seconds(30));
  EXPECT_EQ(config.services[0].checks[0].deregister_critical_service_after, std::chrono::minutes(10));
  EXPECT_EQ(config.services[0].checks[1].id, "service:db:2");
  EXPECT_EQ(config.services[0].checks[1].tcp, "localhost:5432");
  ASSERT_EQ(config.checks.size(), 2u);
  EXPECT_EQ(config.checks[0].id, "replication");
  EXPECT_EQ(config.checks[0].service_id, "db");
  EXPECT_EQ(config.checks[0].http, "https://localhost:8008/lag");
  EXPECT_TRUE(config.checks[0].tls_skip_verify);
  EXPECT_THAT(config.checks[0].http_headers.at("Authorization"), ElementsAre("Bearer x"));
  EXPECT_THAT(config.checks[1].args, ElementsAre("/bin/true"));
  EXPECT_EQ(config.checks[1].status, "warning");
}

TEST(AgentConfigTest, SingularServiceAndCheckKeys) {
  TempDir dir;
  std::string file = dir.write("one.yaml", R"(
service: {name: api, port: 80}
check: {id: up, ttl: 1m}
)");
  LoadResult result = load_config_sources({file}, {});
  ASSERT_TRUE(result.ok()) << describe(result.errors);
  ASSERT_EQ(result.config.services.size(), 1u);
  EXPECT_EQ(result.config.services[0].id, "api");  // defaults to the name
  ASSERT_EQ(result.config.checks.size(), 1u);
  EXPECT_EQ(result.config.checks[0].name, "up");  // defaults to the id
  EXPECT_EQ(result.config.checks[0].ttl, std::chrono::minutes(1));
}

TEST(AgentConfigTest, DirFilesLoadInNameOrderAndLaterOnesOverride) {
  TempDir dir;
  std::string base = dir.write("base.yaml", R"(
node_name: from-file
datacenter: dc1
log_level: info
tags: {role: web, env: qa}
services:
  - {name: web, port: 80, tags: [old]}
  - {name: cache, port: 6379}
checks:
  - {id: ping, ttl: 10s}
)");
  dir.write("conf.d/20-second.yml", R"(
log_level: debug
tags: {env: prod}
services:
  - {name: web, port: 8080, tags: [new]}
  - {name: queue, port: 5672}
)");
  dir.write("conf.d/10-first.yaml", R"(
node_name: from-dir
datacenter: dc9
tags: {zone: a}
)");
  dir.write("conf.d/30-ignored.json", R"({"node_name": "json"})");
  dir.write("conf.d/.99-swap.yaml", "node_name: hidden");
  dir.write("conf.d/notes.txt", "not yaml: [");
  dir.write("other.d/40-last.yaml", "datacenter: dc-last\nchecks: [{id: ping, ttl: 20s}]\n");

  LoadResult result = load_config_sources({base}, {dir.path("conf.d"), dir.path("other.d")});
  ASSERT_TRUE(result.ok()) << describe(result.errors);
  const AgentConfig& config = result.config;
  EXPECT_THAT(config.config_files, ElementsAre(base, dir.path("conf.d/10-first.yaml"), dir.path("conf.d/20-second.yml"),
                                               dir.path("other.d/40-last.yaml")));
  EXPECT_EQ(config.node_name, "from-dir");
  EXPECT_EQ(config.datacenter, "dc-last");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.tags, (std::map<std::string, std::string>{{"role", "web"}, {"env", "prod"}, {"zone", "a"}}));
  ASSERT_EQ(config.services.size(), 3u);
  // The later "web" replaced the earlier one in place; new ids are appended.
  EXPECT_EQ(config.services[0].id, "web");
  EXPECT_EQ(config.services[0].port, 8080);
  EXPECT_THAT(config.services[0].tags, ElementsAre("new"));
  EXPECT_EQ(config.services[1].id, "cache");
  EXPECT_EQ(config.services[2].id, "queue");
  ASSERT_EQ(config.checks.size(), 1u);
  EXPECT_EQ(config.checks[0].ttl, seconds(20));
}

TEST(AgentConfigTest, TombstoneTtlDefaultsToFifteenMinutesAndIsADuration) {
  EXPECT_EQ(AgentConfig{}.tombstone_ttl, std::chrono::minutes(15));
  TempDir dir;
  LoadResult set = load_config_sources({dir.write("ttl.yaml", "tombstone_ttl: 2m\n")}, {});
  ASSERT_TRUE(set.ok()) << describe(set.errors);
  EXPECT_EQ(set.config.tombstone_ttl, seconds(120));
  for (const char* bad : {"tombstone_ttl: 0s\n", "tombstone_ttl: 5\n", "tombstone_ttl: [1m]\n"}) {
    LoadResult result = load_config_sources({dir.write("bad.yaml", bad)}, {});
    EXPECT_FALSE(result.ok()) << bad;
  }
}

TEST(AgentConfigTest, EmptyDirLoadsNothing) {
  TempDir dir;
  std::filesystem::create_directories(dir.path("empty.d"));
  LoadResult result = load_config_sources({}, {dir.path("empty.d")});
  EXPECT_TRUE(result.ok()) << describe(result.errors);
  EXPECT_THAT(result.config.config_files, IsEmpty());
}

TEST(AgentConfigTest, ValidatePathsTakesFilesAndDirsAndPassesGoodConfig) {
  TempDir dir;
  std::string file = dir.write("a.conf", "node_name: a\nservices: [{name: web}]\n");
  dir.write("d/b.yaml", "checks: [{id: c, service_id: web, ttl: 5s}]\n");
  EXPECT_THAT(validate_paths({file, dir.path("d")}), IsEmpty());
}

TEST(ConfigErrorTest, ToStringNamesFileAndLine) {
  EXPECT_EQ((ConfigError{"a.yaml", 3, "bad"}).to_string(), "a.yaml:3: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 0, "bad"}).to_string(), "a.yaml: bad");
  EXPECT_EQ((ConfigError{"", 0, "bad"}).to_string(), "bad");
}

}  // namespace
}  // namespace roster::config
