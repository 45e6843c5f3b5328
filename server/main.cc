// roster-deploy: the deployment server (DESIGN.md, "The deployment flow";
// docs/DEPLOY.md). Wiring only: flags, playbooks, the signing key, the
// agent's HTTP API, the daemon and the signals.

#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "agent/cli/flags.h"
#include "common/duration.h"
#include "common/ed25519.h"
#include "server/deploy/daemon.h"
#include "server/deploy/http_catalog_api.h"
#include "server/deploy/keygen.h"
#include "server/playbook/loader.h"
#include "server/playbook/validate.h"

namespace {

using roster::deploy::PlaybookError;

void print_usage(std::ostream& out) {
  out << "Usage: roster-deploy -playbooks DIR -key FILE [-http-addr HOST:PORT] [flags]\n"
         "       roster-deploy validate DIR\n"
         "       roster-deploy keygen -out FILE [-force]\n\n"
         "roster-deploy watches the Roster catalog and, when a node appears or its tags change,\n"
         "pushes the tasks of the matching playbooks to that node's agent, signed with the key\n"
         "from `roster-deploy keygen`. Several instances may run: one holds the lock\n"
         "roster/deploy/lock and works, the others stand by.\n\n"
         "Commands:\n"
         "    validate DIR    Checks the playbooks in DIR (and DIR/templates/) and reports every\n"
         "                    error as file:line: message. Exits 0 when all are valid, 1 otherwise.\n"
         "    keygen          Makes the Ed25519 key that signs bundles (see `keygen -help`).\n\n"
         "Run `roster-deploy -help` for the daemon's flags. The playbook format is described in\n"
         "docs/PLAYBOOKS.md, the deployment in docs/DEPLOY.md.\n";
}

bool is_help(const std::string& arg) { return arg == "-help" || arg == "--help" || arg == "-h" || arg == "help"; }

int run_validate(const std::vector<std::string>& args) {
  if (args.size() == 1 && is_help(args.front())) {
    std::cout << "Usage: roster-deploy validate DIR\n\n"
                 "Loads every *.yaml and *.yml playbook directly in DIR and checks it: unknown modules and\n"
                 "fields, bad tag selectors, missing templates (DIR/templates/), undefined variables, and\n"
                 "two tasks that manage the same path on one node. Each error is printed as\n"
                 "file:line: message. Exits 0 when every playbook is valid, 1 otherwise.\n";
    return 0;
  }
  if (args.size() != 1) {
    std::cerr << "Usage: roster-deploy validate DIR\n";
    return 2;
  }
  const std::vector<PlaybookError> errors = roster::deploy::validate_playbook_directory(args.front());
  for (const auto& error : errors) std::cerr << error.to_string() << "\n";
  if (!errors.empty()) {
    std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors") << " in " << args.front() << "\n";
    return 1;
  }
  std::cout << "Playbooks in " << args.front() << " are valid.\n";
  return 0;
}

struct DaemonFlags {
  std::string playbooks;
  std::string http_addr = "127.0.0.1:8500";
  std::string token;
  std::string key;
  int forks = 20;
  int loop_limit = 5;
  std::string loop_window = "10m";
  std::string bundle_ttl = "1h";
  std::string dispatch_timeout = "60s";
  bool check = false;
  std::string log_level = "info";
};

std::optional<std::chrono::milliseconds> duration_flag(const std::string& name, const std::string& text) {
  auto parsed = roster::parse_go_duration(text);
  if (!parsed.is_ok() || parsed->count() <= 0) {
    std::cerr << "roster-deploy: -" << name << " " << text << ": "
              << (parsed.is_ok() ? "must be positive" : parsed.status().message()) << "\n";
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int run_daemon(const std::vector<std::string>& args) {
  DaemonFlags flags;
  CLI::App app("roster-deploy: pushes playbook bundles to the nodes the catalog names.", "roster-deploy");
  app.get_formatter()->column_width(34);
  app.add_option("--playbooks", flags.playbooks, "Playbook directory (templates in DIR/templates/). Required")
      ->required();
  app.add_option("--key", flags.key, "Private key that signs bundles, from `roster-deploy keygen`. Required")
      ->required();
  app.add_option("--http-addr", flags.http_addr, "The agent's HTTP API, host:port or a URL")->capture_default_str();
  app.add_option("--token", flags.token, "ACL token sent as X-Consul-Token. Default: $ROSTER_HTTP_TOKEN, none");
  app.add_option("--forks", flags.forks, "Most bundles in flight at once, over all nodes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--loop-limit", flags.loop_limit,
                 "Loop guard: a node dispatched this many times within -loop-window is held")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--loop-window", flags.loop_window, "Loop guard window (Go duration)")->capture_default_str();
  app.add_option("--bundle-ttl", flags.bundle_ttl, "A bundle expires this long after it was signed")
      ->capture_default_str();
  app.add_option("--dispatch-timeout", flags.dispatch_timeout,
                 "A node that has not answered its bundle by then counts as failed (agent down)")
      ->capture_default_str();
  app.add_flag("--check", flags.check,
               "Check mode: agents report what they would change and change nothing; no state/ records");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.footer(
      "Retries back off from 1s to 60s; serial and max_fail_percentage come from each playbook.\n"
      "Durations are Go-style: 90s, 10m, 1h30m. Flags take one dash or two. See docs/DEPLOY.md.\n"
      "Other commands: roster-deploy validate DIR, roster-deploy keygen -out FILE.");

  std::vector<std::string> reversed = roster::cli::normalise_flags(args);
  std::reverse(reversed.begin(), reversed.end());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& error) {
    std::cerr << "roster-deploy: " << error.what() << "\nRun 'roster-deploy -help' for usage.\n";
    return 2;
  }
  auto loop_window = duration_flag("loop-window", flags.loop_window);
  auto bundle_ttl = duration_flag("bundle-ttl", flags.bundle_ttl);
  auto dispatch_timeout = duration_flag("dispatch-timeout", flags.dispatch_timeout);
  if (!loop_window || !bundle_ttl || !dispatch_timeout) return 2;
  if (flags.token.empty()) {
    if (const char* token = std::getenv("ROSTER_HTTP_TOKEN")) flags.token = token;
  }
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  auto logger = spdlog::default_logger();

  // Refuse to start on playbooks that would not validate.
  const std::vector<PlaybookError> errors = roster::deploy::validate_playbook_directory(flags.playbooks);
  if (!errors.empty()) {
    for (const auto& error : errors) std::cerr << error.to_string() << "\n";
    std::cerr << "roster-deploy: " << errors.size() << (errors.size() == 1 ? " error" : " errors") << " in "
              << flags.playbooks << "; not starting\n";
    return 1;
  }
  std::vector<PlaybookError> load_errors;
  roster::deploy::PlaybookSet set = roster::deploy::load_playbook_directory(flags.playbooks, load_errors);
  auto key = roster::SigningKey::load(flags.key);
  if (!key.is_ok()) {
    std::cerr << "roster-deploy: " << key.status().message() << "\n";
    return 1;
  }

  roster::deploy::DaemonOptions options;
  options.engine.dispatcher.forks = flags.forks;
  options.engine.dispatcher.loop_limit = flags.loop_limit;
  options.engine.dispatcher.loop_window = *loop_window;
  options.engine.dispatcher.dispatch_timeout = *dispatch_timeout;
  options.engine.bundle_ttl = *bundle_ttl;
  options.engine.check_mode = flags.check;
  const std::string templates_dir = flags.playbooks + "/templates/";
  roster::deploy::TemplateSource templates = [templates_dir](const std::string& src) {
    return read_file(templates_dir + src);
  };
  roster::deploy::HttpCatalogApi api(flags.http_addr, flags.token);
  roster::SystemClock clock;

  // Signals are taken by this thread alone, with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  logger->info("roster-deploy: {} playbooks from {}, agent at {}, signing key {}, forks {}{}", set.playbooks.size(),
               flags.playbooks, flags.http_addr, key->public_key_base64(), flags.forks,
               flags.check ? ", check mode" : "");
  roster::deploy::Daemon daemon(options, std::move(set.playbooks), templates, *key, api, clock, logger);
  std::jthread worker([&](std::stop_token stop) { daemon.run(stop); });
  int signal = 0;
  sigwait(&signals, &signal);
  logger->info("caught signal {}; releasing the lock and stopping", signal);
  worker.request_stop();
  worker.join();
  logger->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // cpprestsdk answers on a pool of threads, and glibc gives each its own
  // malloc arena; the catalog's JSON parsed on them then stays spread over
  // dozens of arenas. Two keep roster-deploy's memory near what it uses.
  mallopt(M_ARENA_MAX, 2);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return 2;
  }
  if (args.front() == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (args.front() == "validate") return run_validate({args.begin() + 1, args.end()});
  if (args.front() == "keygen") return roster::deploy::run_keygen({args.begin() + 1, args.end()}, std::cout, std::cerr);
  if (args.front().starts_with("-")) return run_daemon(args);
  std::cerr << "roster-deploy: unknown command \"" << args.front() << "\"\n\n";
  print_usage(std::cerr);
  return 2;
}
