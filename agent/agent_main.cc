// roster-agent: the long-running agent process. Wiring only.
//
// Operators start it as `roster agent ...`: the `roster` CLI replaces itself
// with this program (see agent/main.cc), keeping the PID and the command line.
// Keeping the CLI's HTTP client (cpprestsdk) out of this binary, and linking
// it statically (see agent/CMakeLists.txt), keeps an idle agent's RSS small.

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <unistd.h>

#include "agent/config/flags.h"
#include "agent/config/node_id.h"
#include "agent/core/agent_core.h"
#include "agent/core/runtime_tag_sink.h"
#include "agent/core/tombstone_reaper.h"
#include "agent/exec/bundle_runner.h"
#include "agent/exec/posix_command_runner.h"
#include "agent/exec/sandbox_managers.h"
#include "agent/exec/system_managers.h"
#include "agent/gossip/gossip_agent.h"
#include "agent/http/api.h"
#include "agent/leader/leader_duties.h"
#include "agent/http/server.h"
#include "agent/rpc/catalog_servers.h"
#include "agent/rpc/forward_client.h"
#include "agent/rpc/forward_codec.h"
#include "agent/rpc/forward_server.h"
#include "agent/rpc/own_node_watch.h"
#include "agent/rpc/remote_catalog.h"
#include "agent/server/dev_rpc.h"
#include "agent/server/raft_catalog.h"
#include "agent/rpc/exec_watch.h"
#include "agent/rpc/http_kv_channel.h"
#include "agent/rpc/node_facts.h"
#include "common/clock.h"
#include "common/ed25519.h"
#include "common/env.h"
#include "common/metrics.h"
#include "common/open_files_limit.h"
#include "common/uuid.h"
#include "common/version.h"

namespace {

using roster::kVersion;

roster::catalog::TagMap read_runtime_tags(const std::string& data_dir) {
  roster::catalog::TagMap tags;
  if (data_dir.empty()) return tags;
  std::ifstream in(std::filesystem::path(data_dir) / "runtime-tags.json");
  if (!in) return tags;
  auto document = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) {
    spdlog::warn("ignoring unreadable {}/runtime-tags.json", data_dir);
    return tags;
  }
  for (auto it = document.begin(); it != document.end(); ++it) {
    if (it->is_string()) tags[it.key()] = it->get<std::string>();
  }
  return tags;
}

// Serf's LAN timing unless the config asks for memberlist's local profile;
// each gossip key that is set overrides the profile.
roster::gossip::GossipAgentOptions gossip_options(const roster::config::AgentConfig& config, const std::string& node_id,
                                                  const roster::catalog::TagMap& tags) {
  using namespace std::chrono_literals;
  roster::gossip::GossipAgentOptions options;
  roster::gossip::SwimConfig& swim = options.transport.swim;
  swim.name = config.node_name;
  swim.id = node_id;
  swim.tags = tags;
  if (config.gossip.profile == "local") {
    swim.probe_interval = 1s;
    swim.probe_timeout = 200ms;
    swim.indirect_checks = 1;
    swim.suspicion_mult = 3;
    swim.retransmit_mult = 2;
    swim.gossip_interval = 100ms;
    swim.gossip_to_the_dead_time = 15s;
    swim.push_pull_interval = 15s;
    options.transport.tcp_timeout = 1s;
  }
  const auto& gossip = config.gossip;
  if (gossip.probe_interval) swim.probe_interval = *gossip.probe_interval;
  if (gossip.probe_timeout) swim.probe_timeout = *gossip.probe_timeout;
  if (gossip.gossip_interval) swim.gossip_interval = *gossip.gossip_interval;
  if (gossip.push_pull_interval) swim.push_pull_interval = *gossip.push_pull_interval;
  if (gossip.suspicion_mult) swim.suspicion_mult = *gossip.suspicion_mult;
  if (gossip.retransmit_mult) swim.retransmit_mult = *gossip.retransmit_mult;
  if (gossip.max_members) swim.max_members = static_cast<size_t>(*gossip.max_members);
  options.transport.bind_ip = config.bind_addr;
  options.transport.advertise_ip = config.advertise_addr;
  options.transport.port = static_cast<uint16_t>(config.serf_lan_port);
  options.data_dir = config.data_dir;
  options.encrypt_key = config.encrypt;
  options.join = config.start_join;
  options.retry_join = config.retry_join;
  options.retry_interval = std::chrono::duration_cast<std::chrono::milliseconds>(config.retry_interval);
  options.retry_max = config.retry_max;
  return options;
}

// Where other agents (and this one) reach this agent's HTTP API.
std::string reachable_http_address(const roster::config::AgentConfig& config, uint16_t port) {
  std::string host = config.client_addr;
  if (host == "0.0.0.0" || host == "::") host = config.advertise_addr;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

// The services a deploy bundle's tasks run against, and the driver that
// watches this node's bundle key; built only with exec.enabled.
struct ExecWiring {
  roster::PosixEnv env;
  roster::exec::PosixFileAttributes attributes;
  roster::exec::PosixCommandRunner commands;
  std::unique_ptr<roster::exec::PackageManager> packages;
  std::unique_ptr<roster::exec::ServiceManager> services;
  std::unique_ptr<roster::agent::RuntimeTagSink> tags;
  std::unique_ptr<roster::exec::ExecStateStore> state;
  std::unique_ptr<roster::exec::BundleRunner> runner;
  std::unique_ptr<roster::rpc::HttpKvChannel> channel;
  std::unique_ptr<roster::rpc::ExecWatch> watch;
};

int run_agent(int argc, const char* const* argv) {
  auto parsed = roster::config::parse_agent_flags(argc, argv);
  if (!parsed.is_ok()) {
    std::cerr << "roster agent: " << parsed.status().message() << "\nRun 'roster agent -help' for usage.\n";
    return 1;
  }
  if (parsed->help_text) {
    std::cout << *parsed->help_text;
    return 0;
  }
  const auto flags = parsed->flags;
  const auto host = roster::config::read_host_info();
  auto loaded = roster::config::load_agent_config(flags, host);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) std::cerr << "roster agent: " << error.to_string() << "\n";
    return 1;
  }
  const auto& config = loaded.config;
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  std::string node_id;
  if (!config.data_dir.empty()) {
    auto id = roster::config::load_or_create_node_id(config.data_dir);
    if (!id.is_ok()) {
      std::cerr << "roster agent: " << id.status().message() << "\n";
      return 1;
    }
    node_id = *id;
  } else {
    node_id = roster::generate_uuid_v4();
  }

  // Every HTTP connection and gossip stream holds a descriptor; the soft
  // limit many systems start with (1024) is far below what is allowed.
  auto files_limit = roster::raise_open_files_limit();
  if (!files_limit.is_ok()) spdlog::warn("{}", files_limit.status().message());

  boost::asio::io_context io(1);
  roster::SystemClock clock;
  roster::agent::CoreOptions options;
  options.identity.id = node_id;
  options.identity.name = config.node_name;
  options.identity.datacenter = config.datacenter;
  options.identity.address = config.advertise_addr;
  options.identity.http_address = config.client_addr + ":" + std::to_string(config.http_port);
  options.identity.server = config.dev || config.server;
  options.image_tags = config.tags;
  options.runtime_tags = read_runtime_tags(config.data_dir);
  options.data_dir = config.data_dir;
  options.enable_script_checks = config.enable_script_checks;
  options.check_update_interval = config.check_update_interval;
  // The catalog: -dev holds its own in memory; a server holds it in Raft; a
  // client agent holds none and asks the servers.
  roster::PosixEnv env;
  std::unique_ptr<roster::agent::CatalogBackend> backend;
  roster::agent::RaftCatalog* raft_catalog = nullptr;
  roster::rpc::RemoteCatalog* remote_catalog = nullptr;
  const auto hold_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.rpc_hold_timeout);
  if (!config.dev && config.server) {
    roster::agent::RaftCatalogOptions raft_options;
    raft_options.node_name = config.node_name;
    raft_options.node_id = node_id;
    raft_options.datacenter = config.datacenter;
    raft_options.bind_ip = config.bind_addr;
    raft_options.port = static_cast<uint16_t>(config.server_port);
    raft_options.advertise_ip = config.advertise_addr;
    raft_options.data_dir = config.data_dir;
    raft_options.bootstrap_expect = config.bootstrap_expect;
    raft_options.bootstrap = config.bootstrap;
    raft_options.election_ticks = 10 * static_cast<uint32_t>(config.raft_multiplier);
    raft_options.hold_timeout = hold_timeout;
    raft_options.dead_server_cleanup =
        config.autopilot.cleanup_dead_servers
            ? std::chrono::duration_cast<std::chrono::milliseconds>(config.autopilot.dead_server_cleanup_after)
            : std::chrono::milliseconds(0);
    raft_options.server_stabilization =
        std::chrono::duration_cast<std::chrono::milliseconds>(config.autopilot.server_stabilization_time);
    raft_options.min_quorum = static_cast<size_t>(config.autopilot.min_quorum);
    auto catalog =
        std::make_unique<roster::agent::RaftCatalog>(io, env, clock, raft_options, spdlog::default_logger());
    raft_catalog = catalog.get();
    backend = std::move(catalog);
  } else if (!config.dev) {
    roster::rpc::RemoteCatalogOptions remote_options;
    remote_options.datacenter = config.datacenter;
    remote_options.node_name = config.node_name;
    remote_options.hold_timeout = hold_timeout;
    auto catalog = std::make_unique<roster::rpc::RemoteCatalog>(io, clock, spdlog::default_logger(), remote_options);
    remote_catalog = catalog.get();
    backend = std::move(catalog);
  }
  auto core_holder = backend ? std::make_unique<roster::agent::AgentCore>(io, clock, options, std::move(backend))
                             : std::make_unique<roster::agent::AgentCore>(io, clock, options);
  roster::agent::AgentCore& core = *core_holder;
  if (raft_catalog != nullptr) {
    if (auto status = raft_catalog->start(); !status.is_ok()) {
      std::cerr << "roster agent: " << status.to_string() << "\n";
      return 1;
    }
  }
  if (auto status = core.start(); !status.is_ok()) {
    std::cerr << "roster agent: " << status.to_string() << "\n";
    return 1;
  }
  // Config services and checks: with -dev's catalog the outcome is known
  // here and a bad definition stops the agent; otherwise it is logged.
  auto config_loaded = std::make_shared<std::optional<roster::Status>>();
  core.reload(config.tags, config.services, config.checks, [config_loaded](roster::Status status) {
    if (!status.is_ok()) spdlog::error("configuration services and checks: {}", status.message());
    *config_loaded = status;
  });
  if (config_loaded->has_value() && !(*config_loaded)->is_ok()) {
    std::cerr << "roster agent: " << (*config_loaded)->message() << "\n";
    return 1;
  }
  roster::agent::LeaderDuties leader_duties(io, core);
  roster::agent::TombstoneReaper tombstone_reaper(io, clock, core, {.ttl = config.tombstone_ttl});
  tombstone_reaper.start();

  // What /v1/agent/metrics reports; outlives the server, the API and the gossip agent.
  roster::metrics::Registry metrics;
  roster::http::ApiOptions api_options;
  api_options.version = kVersion;
  api_options.metrics = &metrics;
  api_options.raft_catalog = raft_catalog;
  roster::http::HttpServer* http_server = nullptr;
  std::map<std::string, std::string> gossip_limits;  // filled once the gossip options are made
  api_options.extra_stats = [&]() {
    std::map<std::string, std::map<std::string, std::string>> sections;
    auto& limits = sections["limits"];
    limits = gossip_limits;
    if (auto now = roster::open_files_limit(); now.is_ok()) {
      limits["open_files_soft"] = std::to_string(now->soft);
      limits["open_files_hard"] = std::to_string(now->hard);
    }
    limits["http_max_conns_per_client"] = std::to_string(config.limits.http_max_conns_per_client);
    limits["http_max_unsent_response_bytes"] = std::to_string(config.limits.http_max_unsent_response_bytes);
    if (http_server != nullptr) {
      const auto stats = http_server->stats();
      limits["http_open_connections"] = std::to_string(stats.open_connections);
      limits["http_unsent_response_bytes"] = std::to_string(stats.unsent_response_bytes);
      limits["http_refused_per_client_limit"] = std::to_string(stats.refused_per_client_limit);
      limits["http_refused_unsent_limit"] = std::to_string(stats.refused_unsent_limit);
      limits["http_shed_before_building"] = std::to_string(stats.shed_before_building);
      limits["http_accept_failures"] = std::to_string(stats.accept_failures);
      limits["http_abandoned_waits"] = std::to_string(stats.abandoned_waits);
    }
    return sections;
  };
  api_options.renew_session = [&leader_duties](const std::string& id) { return leader_duties.renew_session(id); };
  if (raft_catalog != nullptr) {
    api_options.forward = [&io, &clock, raft_catalog, hold_timeout](const roster::http::HttpRequest& request, bool,
                                                                    std::chrono::milliseconds timeout,
                                                                    roster::http::Respond respond) {
      roster::rpc::forward_http(io, clock, raft_catalog->rpc_client(),
                                [raft_catalog] { return raft_catalog->leader_address(); }, request, timeout,
                                hold_timeout, std::move(respond));
    };
  } else if (remote_catalog != nullptr) {
    api_options.forward = [remote_catalog](const roster::http::HttpRequest& request, bool,
                                           std::chrono::milliseconds timeout, roster::http::Respond respond) {
      remote_catalog->forward(request, timeout, std::move(respond));
    };
  }
  roster::http::Api api(core, api_options);
  roster::rpc::ForwardServer forward_server(io, api, core.watch_hub());
  auto serve_forward = [&forward_server](const roster::rpc::CallInfo& caller, const std::string& method,
                                         std::string payload, roster::rpc::Reply reply) {
    if (method == roster::rpc::kForwardMethod) return forward_server.serve(caller, std::move(payload), std::move(reply));
    reply(roster::Status::invalid_argument("unknown RPC method \"" + method + "\""));
  };
  // A -dev agent serves its catalog on the server port too, so client agents
  // can join it. A port already taken (another -dev agent) leaves it
  // without: it is still a complete single-node agent.
  std::unique_ptr<roster::agent::DevRpc> dev_rpc;
  if (config.dev) {
    dev_rpc = std::make_unique<roster::agent::DevRpc>(
        io, clock, core.catalog(),
        roster::agent::DevRpcOptions{config.datacenter, config.bind_addr, static_cast<uint16_t>(config.server_port)},
        serve_forward);
    if (auto status = dev_rpc->start(); !status.is_ok()) {
      spdlog::warn("server port: {}; client agents cannot use this -dev agent (give it -server-port)",
                   status.message());
      dev_rpc.reset();
    }
  }
  if (raft_catalog != nullptr) {
    raft_catalog->set_rpc_handler(serve_forward);
    raft_catalog->set_leadership_handler([&leader_duties](bool leading) { leader_duties.set_leading(leading); });
  }
  roster::http::ServerOptions server_options;
  server_options.address = config.client_addr;
  server_options.port = static_cast<uint16_t>(config.http_port);
  server_options.max_conns_per_client = static_cast<size_t>(config.limits.http_max_conns_per_client);
  server_options.max_unsent_response_bytes = config.limits.http_max_unsent_response_bytes;
  server_options.metrics = &metrics;
  server_options.clock = &clock;
  roster::http::HttpServer server(io, api, core.watch_hub(), server_options);
  http_server = &server;
  if (auto status = server.start(); !status.is_ok()) {
    std::cerr << "roster agent: " << status.message() << "\n";
    return 1;
  }

  std::unique_ptr<ExecWiring> exec;
  std::unique_ptr<roster::rpc::OwnNodeWatch> own_node_watch;  // a client agent's view of its own node
  // One way out: stop serving, save the gossip state, let io.run() return.
  int exit_code = 0;
  bool shutting_down = false;
  std::unique_ptr<roster::gossip::GossipAgent> gossip;
  auto shutdown = [&](int code) {
    if (shutting_down) return;
    shutting_down = true;
    exit_code = code;
    // Ask the exec driver to stop first, without waiting here, so it does not
    // take the HTTP server's going away for a catalog outage.
    if (exec) (void)exec->watch->stop_within(std::chrono::milliseconds(0));
    server.stop();
    leader_duties.set_leading(false);
    leader_duties.set_membership(nullptr);
    if (raft_catalog != nullptr) raft_catalog->stop();
    if (dev_rpc) dev_rpc->stop();
    if (own_node_watch) own_node_watch->stop();
    if (remote_catalog != nullptr) remote_catalog->stop();
    core.set_membership(nullptr);
    if (gossip) gossip->stop();
    tombstone_reaper.stop();
    core.stop();
    io.stop();
  };
  // After a graceful leave, give the HTTP response that asked for it a moment to be written.
  boost::asio::steady_timer exit_timer(io);
  roster::gossip::GossipAgentCallbacks gossip_callbacks;
  gossip_callbacks.on_fatal = [&](const std::string& reason) {
    spdlog::error("gossip: {}", reason);
    boost::asio::post(io, [&] { shutdown(1); });
  };
  gossip_callbacks.on_left = [&] {
    exit_timer.expires_after(std::chrono::milliseconds(200));
    exit_timer.async_wait([&](const boost::system::error_code&) { shutdown(0); });
  };
  auto gossip_settings = gossip_options(config, node_id, core.merged_tags());
  gossip_settings.server = core.identity().server;
  if (raft_catalog != nullptr) {
    roster::agent::ServerTag tag;
    tag.port = static_cast<uint16_t>(config.server_port);
    tag.bootstrap_expect = config.bootstrap_expect;
    gossip_settings.server_info = roster::agent::format_server_tag(tag);
  } else if (dev_rpc) {
    roster::agent::ServerTag tag;  // a cluster of one, ready for clients
    tag.port = dev_rpc->port();
    tag.in_cluster = true;
    gossip_settings.server_info = roster::agent::format_server_tag(tag);
  }
  gossip_settings.http_address = reachable_http_address(config, server.port());
  gossip_limits = {
      {"gossip_max_tcp_connections", std::to_string(gossip_settings.transport.max_tcp_connections)},
      {"gossip_max_tcp_connections_per_ip", std::to_string(gossip_settings.transport.max_tcp_connections_per_ip)},
      {"gossip_tcp_first_frame_timeout_ms", std::to_string(gossip_settings.transport.tcp_first_frame_timeout.count())},
      {"gossip_max_members", std::to_string(gossip_settings.transport.swim.max_members)},
  };
  gossip = std::make_unique<roster::gossip::GossipAgent>(io, clock, core.watch_hub(), gossip_settings,
                                                         std::move(gossip_callbacks));
  if (auto status = gossip->start(); !status.is_ok()) {
    std::cerr << "roster agent: " << status.message() << "\n";
    return 1;
  }
  core.set_membership(gossip.get());
  // A -dev agent is a server and its own leader, so it takes the leader's
  // duties from the start; with Raft they follow leadership.
  if (options.identity.server) leader_duties.set_membership(gossip.get());
  if (config.dev) leader_duties.set_leading(true);  // its own single server
  // Servers and client agents follow the pool's servers: Raft peers,
  // bootstrap and autopilot on a server, whom to ask on a client.
  auto pool_members = std::make_shared<std::set<std::string>>();
  auto feed_servers = [&gossip, raft_catalog, remote_catalog, pool_members] {
    if (!gossip) return;
    std::vector<roster::agent::MemberInfo> servers;
    pool_members->clear();
    for (const auto& member : gossip->members()) {
      if (member.status != roster::agent::MemberStatus::left) pool_members->insert(member.name);
      if (member.server) servers.push_back(member);
    }
    if (raft_catalog != nullptr) raft_catalog->set_servers(servers);
    if (remote_catalog != nullptr) remote_catalog->set_servers(servers);
  };
  uint64_t servers_listener = 0;
  if (raft_catalog != nullptr || remote_catalog != nullptr) {
    if (raft_catalog != nullptr) {
      raft_catalog->set_caller_check(
          [pool_members](const std::string& node) { return pool_members->contains(node); });
      raft_catalog->set_server_tag_handler([&gossip](const roster::agent::ServerTag& tag) {
        if (gossip) gossip->set_server_info(roster::agent::format_server_tag(tag));
      });
    }
    if (remote_catalog != nullptr) {
      own_node_watch = std::make_unique<roster::rpc::OwnNodeWatch>(
          io, config.node_name,
          [remote_catalog](const roster::http::HttpRequest& request, roster::http::Respond respond) {
            remote_catalog->forward(request, std::chrono::minutes(6), std::move(respond));
          },
          [&core](roster::catalog::TagMap tags) { core.set_catalog_tags(std::move(tags)); });
    }
    servers_listener = core.watch_hub().subscribe([feed_servers](const std::vector<std::string>& changed) {
      if (std::find(changed.begin(), changed.end(), roster::agent::kMembersWatchKey) != changed.end()) {
        feed_servers();
      }
    });
    feed_servers();
    if (own_node_watch) own_node_watch->start();
  }
  // Collected on the core's thread (the metrics endpoint runs there), like every other read of the pool.
  const uint64_t gossip_collector = metrics.add_collector([&](roster::metrics::Snapshot& snapshot) {
    if (gossip) gossip->collect_metrics(snapshot);
  });

  // Consul's defaults for a client: SIGINT leaves the pool gracefully
  // (skip_leave_on_interrupt=false), SIGTERM does not (leave_on_terminate=false).
  // A second signal while leaving stops at once.
  boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  std::function<void()> wait_for_stop = [&] {
    stop_signals.async_wait([&](const boost::system::error_code& error, int signal) {
      if (error) return;
      const bool leave = signal == SIGINT ? !config.skip_leave_on_interrupt : config.leave_on_terminate;
      if (leave && !gossip->leave_done() && exit_code == 0 && !shutting_down &&
          gossip->local_member().status != roster::agent::MemberStatus::leaving) {
        spdlog::info("caught signal {}; leaving the gossip pool, then shutting down", signal);
        gossip->start_leave();
        wait_for_stop();
        return;
      }
      spdlog::info("caught signal {}; shutting down", signal);
      shutdown(0);
    });
  };
  wait_for_stop();
  boost::asio::signal_set reload_signal(io, SIGHUP);
  std::function<void()> wait_for_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      auto reloaded = roster::config::load_agent_config(flags, host);
      if (!reloaded.ok()) {
        for (const auto& config_error : reloaded.errors) {
          spdlog::error("reload refused: {}", config_error.to_string());
        }
      } else {
        core.reload(reloaded.config.tags, reloaded.config.services, reloaded.config.checks,
                    [](roster::Status status) {
                      if (!status.is_ok()) {
                        spdlog::error("reload: {}", status.message());
                      } else {
                        spdlog::info("reloaded tags, services and checks from the configuration");
                      }
                    });
      }
      wait_for_reload();
    });
  };
  wait_for_reload();

  if (config.exec.enabled) {
    exec = std::make_unique<ExecWiring>();
    exec->tags = std::make_unique<roster::agent::RuntimeTagSink>(io, core, std::chrono::seconds(10));
    exec->state = std::make_unique<roster::exec::ExecStateStore>(&exec->env, config.data_dir);
    roster::exec::BundleRunnerOptions runner_options;
    runner_options.node_id = node_id;
    runner_options.node = config.node_name;
    for (const std::string& key : config.exec.trusted_keys) {
      auto raw = roster::decode_public_key(key);
      if (!raw.is_ok()) {
        std::cerr << "roster agent: exec trusted_keys: " << raw.status().message() << "\n";
        return 1;
      }
      runner_options.trusted_keys.push_back(*raw);
    }
    runner_options.exec = {true, config.exec.root};
    roster::exec::ExecContext context;
    context.exec_root = config.exec.root;
    context.env = &exec->env;
    context.attributes = &exec->attributes;
    if (config.exec.system == "sandbox") {
      exec->packages = std::make_unique<roster::exec::SandboxPackageManager>(exec->env, config.exec.root);
      exec->services = std::make_unique<roster::exec::SandboxServiceManager>(exec->env, config.exec.root);
    } else {
      exec->packages = std::make_unique<roster::exec::AptPackageManager>(exec->commands);
      exec->services = std::make_unique<roster::exec::SystemdServiceManager>(exec->commands);
    }
    context.packages = exec->packages.get();
    context.services = exec->services.get();
    context.commands = &exec->commands;
    context.tags = exec->tags.get();
    context.running_as_root = ::geteuid() == 0;
    exec->runner = std::make_unique<roster::exec::BundleRunner>(runner_options, context, *exec->state, clock);
    // Until the cluster catalog lands, a server (and -dev) is its own
    // catalog; a client asks the servers it knows from the gossip pool.
    const std::string own_address = reachable_http_address(config, server.port());
    const bool is_server = core.identity().server;
    exec->channel = std::make_unique<roster::rpc::HttpKvChannel>([&io, &gossip, &config, own_address, is_server] {
      if (is_server) return std::vector<std::string>{own_address};
      // The pool lives on the core's thread.
      auto promise = std::make_shared<std::promise<std::vector<std::string>>>();
      auto future = promise->get_future();
      boost::asio::post(io, [promise, &gossip, self = config.node_name] {
        promise->set_value(gossip ? roster::rpc::server_http_addresses(gossip->members(), self)
                                  : std::vector<std::string>{});
      });
      if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) return std::vector<std::string>{};
      return future.get();
    });
    roster::rpc::ExecWatchOptions watch_options;
    watch_options.node = config.node_name;
    watch_options.facts = roster::rpc::read_node_facts(host.hostname.empty() ? config.node_name : host.hostname);
    exec->watch = std::make_unique<roster::rpc::ExecWatch>(watch_options, *exec->runner, *exec->channel);
    exec->watch->start();
    spdlog::info("exec: enabled; watching {} with {} trusted key(s), exec root {}, {} packages and services",
                 roster::deploy_records::bundle_key(config.node_name), config.exec.trusted_keys.size(),
                 config.exec.root, config.exec.system);
  }

  spdlog::info("roster agent {} running: node {} ({}), datacenter {}, gossip on {}, HTTP API on http://{}:{}",
               kVersion, config.node_name, node_id, config.datacenter, gossip->transport().address(),
               config.client_addr, server.port());
  io.run();
  // A bundle mid-task is not waited for long: the next start reports it
  // interrupted and runs it again, as after a kill -9.
  if (exec && !exec->watch->stop_within(std::chrono::seconds(5))) {
    spdlog::warn("exec: a bundle is still running; leaving it to be run again at the next start");
    std::_Exit(exit_code);
  }
  metrics.remove_collector(gossip_collector);
  if (servers_listener != 0) core.watch_hub().unsubscribe(servers_listener);
  leader_duties.set_leading(false);
  leader_duties.set_membership(nullptr);
  core.set_membership(nullptr);
  if (gossip) gossip->stop();
  return exit_code;
}

}  // namespace

// Accepts both `roster agent <flags>` (the command line kept by the CLI's
// exec) and `roster-agent <flags>`.
int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "agent") {
    --argc;
    ++argv;
  }
  if (argc > 1 && (std::string_view(argv[1]) == "-version" || std::string_view(argv[1]) == "--version")) {
    std::cout << "Roster v" << kVersion << "\n";
    return 0;
  }
  return run_agent(argc, argv);
}
