// gossip_sim: the SWIM state machine at scale in virtual time.
//
//   gossip_sim --nodes=1000 --seed=1                 join, tag, failure, then 10 min at 5% loss
//   gossip_sim --nodes=200 --join-pace-ms=0 --processing-us=2000   a join storm on slow nodes
//   gossip_sim --nodes=100 --slow-nodes=10 --slow-stall-ms=3000 [--no-lifeguard]
//                                                    Lifeguard's experiment: slow members, with and without it
//
// Phases (each timed in virtual seconds from its trigger):
//   join     node 0 starts (or nodes 0..M-1 as a formed pool, --preformed=M); the others join
//            node 0, --join-pace-ms apart; until all see all
//   tag      a node sets a tag; until every node sees it
//   failure  a node crashes; until the first, and then every, node marks it failed
//   steady   --steady-loss for --steady-seconds, with --slow-nodes slow; false positives counted
// Every figure comes from one seed; rerun with the same flags to reproduce.

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "tests/sim/gossip_sim.h"

namespace {

using roster::sim::Duration;
using roster::sim::GossipSim;
using roster::sim::TimePoint;

double secs(Duration d) { return std::chrono::duration<double>(d).count(); }

std::string figure(const std::optional<TimePoint>& at, TimePoint from) {
  if (!at) return "not reached";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f s", secs(*at - from));
  return buffer;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Deterministic SWIM simulation: convergence, detection and false positives"};
  size_t nodes = 1000;
  uint64_t seed = 1;
  double join_loss = 0.01;
  double steady_loss = 0.05;
  double steady_seconds = 600;
  int join_pace_ms = 10;
  size_t preformed = 0;
  int processing_us = 0;
  int max_latency_ms = 10;
  bool skip_failure = false;
  bool crash_host_down = false;
  size_t slow_nodes = 0;
  int slow_processing_ms = 0;
  int slow_stall_ms = 0;
  int slow_stall_every_ms = 10000;
  bool no_lifeguard = false;
  bool steady_tcp_refused = false;
  int confirmed_suspicion_mult = roster::gossip::SwimConfig{}.confirmed_suspicion_mult;
  bool trace = false;
  std::string trace_subject;
  app.add_option("--nodes", nodes, "pool size");
  app.add_option("--seed", seed, "the one seed everything comes from");
  app.add_option("--join-loss", join_loss, "datagram loss while joining, tagging and failing");
  app.add_option("--steady-loss", steady_loss, "datagram loss in the steady phase");
  app.add_option("--steady-seconds", steady_seconds, "virtual seconds of the steady phase (0: skip)");
  app.add_option("--join-pace-ms", join_pace_ms, "gap between joins (0: all at once)");
  app.add_option("--preformed", preformed,
                 "the first this many nodes start as a pool formed before time zero; only the rest join "
                 "(for pools too large to simulate every join)");
  app.add_option("--processing-us", processing_us, "per-input processing time of every node");
  app.add_option("--max-latency-ms", max_latency_ms, "latency is uniform in [1 ms, this]");
  app.add_flag("--skip-failure", skip_failure, "no crash phase");
  app.add_flag("--crash-host-down", crash_host_down,
               "the crash takes the host down too (connections time out); by default only the agent dies and "
               "connections to it are refused");
  app.add_option("--slow-nodes", slow_nodes, "in the steady phase, this many nodes are slow (the last ones)");
  app.add_option("--slow-processing-ms", slow_processing_ms, "per-input processing time of a slow node");
  app.add_option("--slow-stall-ms", slow_stall_ms, "a slow node freezes this long ...");
  app.add_option("--slow-stall-every-ms", slow_stall_every_ms, "... once per this period (default 10 s)");
  app.add_option("--confirmed-suspicion-mult", confirmed_suspicion_mult,
                 "floor of a fully confirmed suspicion (memberlist: the suspicion multiplier, 4)");
  app.add_flag("--steady-tcp-refused", steady_tcp_refused,
               "in the steady phase, every TCP connection is refused, to live nodes too (a firewall that resets "
               "the gossip TCP port): push-pulls fail and TCP fallback probes come back refused");
  app.add_flag("--no-lifeguard", no_lifeguard, "plain SWIM: no health multiplier, fixed suspicion timeout, no buddy");
  app.add_option("--trace-subject", trace_subject, "print every event about this node name to stderr");
  app.add_flag("--trace", trace, "print the views still wrong every second while joining");
  CLI11_PARSE(app, argc, argv);

  roster::sim::GossipSimOptions options;
  options.nodes = nodes;
  options.seed = seed;
  options.loss = join_loss;
  options.max_latency = std::chrono::milliseconds(max_latency_ms);
  options.processing_time = std::chrono::microseconds(processing_us);
  options.trace_subject = trace_subject;
  options.configure = [&](roster::gossip::SwimConfig& config) {
    config.lifeguard = !no_lifeguard;
    config.confirmed_suspicion_mult = confirmed_suspicion_mult;
  };
  GossipSim sim(options);
  auto wall_start = std::chrono::steady_clock::now();

  std::printf("gossip_sim --nodes=%zu --seed=%llu --join-loss=%.3f --steady-loss=%.3f --steady-seconds=%.0f "
              "--join-pace-ms=%d --processing-us=%d --max-latency-ms=%d --slow-nodes=%zu --slow-processing-ms=%d "
              "--slow-stall-ms=%d --slow-stall-every-ms=%d --confirmed-suspicion-mult=%d --preformed=%zu%s%s%s%s\n",
              nodes, static_cast<unsigned long long>(seed), join_loss, steady_loss, steady_seconds, join_pace_ms,
              processing_us, max_latency_ms, slow_nodes, slow_processing_ms, slow_stall_ms, slow_stall_every_ms,
              confirmed_suspicion_mult, preformed,
              skip_failure ? " --skip-failure" : "",
              crash_host_down ? " --crash-host-down" : "",
              steady_tcp_refused ? " --steady-tcp-refused" : "",
              no_lifeguard ? " --no-lifeguard" : "");
  std::printf("timing: memberlist/Serf LAN defaults (probe 1 s/500 ms, gossip 200 ms x 3, suspicion mult 4)\n");

  // --- join ---
  const size_t formed = std::min(preformed, nodes);
  if (formed > 0) {
    sim.start_formed(formed);
  } else {
    sim.start(0, {});
  }
  for (size_t i = std::max<size_t>(formed, 1); i < nodes; ++i) {
    if (join_pace_ms > 0) sim.run_for(std::chrono::milliseconds(join_pace_ms));
    sim.start(i, {0});
  }
  TimePoint last_join = sim.now();
  // 99% of the N^2 views right: the bulk, as opposed to the last straggler.
  auto bulk = sim.run_until_true([&] { return sim.mismatches() * 100 <= nodes * nodes; }, std::chrono::seconds(600));
  TimePoint next_trace = sim.now();
  auto joined = sim.run_until_true(
      [&] {
        if (trace && sim.now() >= next_trace) {
          std::printf("  t=%.1f s after the last join: %zu views wrong\n", secs(sim.now() - last_join), sim.mismatches());
          if (sim.mismatches() <= 10) {
            for (auto [observer, subject] : sim.wrong_views(10)) {
              std::printf("    %s's view of %s\n", sim.name(observer).c_str(), sim.name(subject).c_str());
            }
          }
          next_trace += std::chrono::seconds(1);
        }
        return sim.converged();
      },
      std::chrono::seconds(600));
  std::printf("join:     99%% of views right %s after the last join; all %zu see all %s after the last join (%s "
              "after the first); failures of live nodes: %zu\n",
              figure(bulk, last_join).c_str(), nodes, figure(joined, last_join).c_str(),
              figure(joined, sim.start_time()).c_str(), sim.failures_of_live_nodes());
  size_t after_join_fp = sim.failures_of_live_nodes();

  // --- tag ---
  size_t tagged_node = nodes / 2;
  sim.run_for(std::chrono::seconds(5));
  sim.set_tags(tagged_node, {{"role", "web"}});
  TimePoint tagged = sim.now();
  auto half = sim.run_until_true([&] { return sim.observers_with_tag(tagged_node, "role", "web") * 2 >= nodes; },
                                 std::chrono::seconds(120), std::chrono::milliseconds(20));
  auto all_tagged = sim.run_until_true([&] { return sim.observers_with_tag(tagged_node, "role", "web") == nodes; },
                                       std::chrono::seconds(120), std::chrono::milliseconds(20));
  std::printf("tag:      half %s, all %s\n", figure(half, tagged).c_str(), figure(all_tagged, tagged).c_str());

  // --- failure ---
  if (!skip_failure) {
    size_t victim = nodes / 3;
    sim.run_for(std::chrono::seconds(5));
    sim.crash(victim, crash_host_down);
    TimePoint crashed = sim.now();
    auto first = sim.run_until_true([&] { return sim.observers_holding_failed(victim) >= 1; },
                                    std::chrono::seconds(300), std::chrono::milliseconds(20));
    auto all = sim.run_until_true([&] { return sim.observers_holding_failed(victim) == sim.up_count(); },
                                  std::chrono::seconds(300), std::chrono::milliseconds(20));
    std::printf("failure:  first node marks it failed %s, all %s\n", figure(first, crashed).c_str(),
                figure(all, crashed).c_str());
  }

  // --- steady ---
  if (steady_seconds > 0) {
    sim.set_loss(steady_loss);
    sim.set_tcp_refused(steady_tcp_refused);
    const size_t slow = std::min(slow_nodes, nodes);
    for (size_t i = nodes - slow; i < nodes; ++i) {
      sim.set_processing_time(i, std::chrono::milliseconds(slow_processing_ms));
      if (slow_stall_ms > 0) {
        sim.set_stalls(i, std::chrono::milliseconds(slow_stall_every_ms), std::chrono::milliseconds(slow_stall_ms));
      }
    }
    const size_t fp_list_before = sim.false_positive_list().size();
    uint64_t bytes_before = sim.datagram_bytes();
    uint64_t datagrams_before = sim.datagrams_sent();
    size_t suspicions_before = sim.false_suspicions();
    size_t live_failures_before = sim.failures_of_live_nodes();
    size_t fp_before = sim.false_positives();
    TimePoint steady_start = sim.now();
    sim.run_for(std::chrono::milliseconds(static_cast<int64_t>(steady_seconds * 1000)));
    double elapsed = secs(sim.now() - steady_start);
    double up = static_cast<double>(sim.up_count());
    std::printf("steady:   %.0f s at %.1f%% loss: false-positive failures %zu (windowed %zu), suspect events about "
                "live nodes %zu (summed over observers; refuted), converged %s\n",
                elapsed, steady_loss * 100, sim.failures_of_live_nodes() - live_failures_before,
                sim.false_positives() - fp_before, sim.false_suspicions() - suspicions_before,
                sim.converged() ? "yes" : "no");
    if (slow > 0) {
      // Lifeguard's question: whom do the slow members take down?
      size_t by_slow = 0, of_slow = 0, healthy_by_healthy = 0;
      const auto& list = sim.false_positive_list();
      for (size_t k = fp_list_before; k < list.size(); ++k) {
        const bool observer_slow = list[k].observer >= nodes - slow;
        const bool subject_slow = list[k].subject >= nodes - slow;
        by_slow += observer_slow;
        of_slow += subject_slow;
        healthy_by_healthy += !observer_slow && !subject_slow;
      }
      std::printf("slow:     %zu slow nodes (%d ms per input, frozen %d ms every %d ms): windowed false positives "
                  "declared by slow nodes %zu, about slow nodes %zu, healthy about healthy %zu\n",
                  slow, slow_processing_ms, slow_stall_ms, slow_stall_every_ms, by_slow, of_slow, healthy_by_healthy);
    }
    std::printf("traffic:  %.0f B/s and %.1f datagrams/s per node (estimated sizes, UDP only)\n",
                static_cast<double>(sim.datagram_bytes() - bytes_before) / elapsed / up,
                static_cast<double>(sim.datagrams_sent() - datagrams_before) / elapsed / up);
  }

  std::printf("totals:   failures of live nodes %zu (during join %zu), invariant violations %zu, events %llu, "
              "push-pulls %llu, wall %.1f s\n",
              sim.failures_of_live_nodes(), after_join_fp, sim.violations().size(),
              static_cast<unsigned long long>(sim.events_processed()),
              static_cast<unsigned long long>(sim.push_pulls()),
              secs(std::chrono::steady_clock::now() - wall_start));
  for (size_t i = 0; i < sim.false_positive_list().size() && i < 10; ++i) {
    const auto& fp = sim.false_positive_list()[i];
    std::printf("  false positive: %s declared %s failed at t=%.3f s\n", sim.name(fp.observer).c_str(),
                sim.name(fp.subject).c_str(), secs(fp.at - sim.start_time()));
  }
  for (size_t i = 0; i < sim.violations().size() && i < 10; ++i) std::printf("  %s\n", sim.violations()[i].c_str());
  return sim.violations().empty() && sim.failures_of_live_nodes() == 0 ? 0 : 1;
}
