// roster event | watch: Consul's user events (PUT /v1/event/fire/<name>,
// GET /v1/event/list as a blocking query).

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>

#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"
#include "agent/cli/url_escape.h"
#include "common/base64.h"

namespace roster::cli {
namespace {

// Longer than the longest blocking wait the agent allows (10 minutes).
constexpr auto kWatchTimeout = std::chrono::minutes(11);
constexpr const char* kWatchWait = "5m";

std::string query_of(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (value.empty()) continue;
    out += (out.empty() ? "?" : "&") + key + "=" + escape_component(value);
  }
  return out;
}

std::string payload_text(const nlohmann::json& event) {
  const nlohmann::json* payload = find_field(event, "Payload");
  if (payload == nullptr || !payload->is_string()) return "";
  auto decoded = base64_decode(payload->get<std::string>());
  return decoded.is_ok() ? *decoded : payload->get<std::string>();
}

// A watch runs until interrupted; SIGINT ends it with status 0. Every line is
// flushed before the next wait, so nothing printed is lost by _exit.
extern "C" void exit_on_interrupt(int) { _exit(0); }

}  // namespace

int run_event(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Fires a user event through the gossip pool. Every agent whose node, services and tags match the\n"
               "filters (regular expressions) records it, and `roster watch -type event` and /v1/event/list\n"
               "show it. Delivery is best effort, and the name and payload must stay small (the gossip\n"
               "limit is 512 bytes with the ID and filters).",
               "roster event");
  CommonOptions common;
  std::string name;
  std::string node;
  std::string service;
  std::string tag;
  std::string payload;
  add_common_options(app, common);
  app.add_option("--name", name, "The event's name")->required();
  app.add_option("--node", node, "Only nodes whose name matches this regular expression");
  app.add_option("--service", service, "Only nodes with a service whose name matches this regular expression");
  app.add_option("--tag", tag, "With -service: only if that service has a tag matching this regular expression");
  app.add_option("payload", payload, "The event's payload (opaque bytes)");
  app.footer("Examples:\n  roster event -name deploy v2.1\n  roster event -name restart -service web -tag canary");
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  if (!tag.empty() && service.empty()) {
    io.err << "Error! -tag needs -service\nRun 'roster event -help' for usage.\n";
    return 1;
  }
  AgentApi api = connect(common, io);
  const std::string path =
      "/v1/event/fire/" + escape_component(name) + query_of({{"node", node}, {"service", service}, {"tag", tag}});
  Result<nlohmann::json> answer = api.json_request("PUT", path, payload);
  if (!answer.is_ok()) return report_error(io.err, "Failed to fire event", answer.status());
  if (common.json()) {
    print_json(io.out, *answer);
  } else {
    io.out << "Event ID: " << field_text(*answer, "ID") << "\n";
  }
  return 0;
}

int run_watch(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Watches for changes with blocking queries and prints what arrives, until interrupted\n"
               "(Ctrl-C). -type event prints the user events this agent receives: those it has already,\n"
               "then each new one as it comes.",
               "roster watch");
  CommonOptions common;
  std::string type;
  std::string name;
  add_common_options(app, common);
  app.add_option("--type", type, "What to watch; supported: event")->required();
  app.add_option("--name", name, "-type event: only events of this name");
  app.footer("Example:\n  roster watch -type event -name deploy");
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  if (type != "event") {
    io.err << "Error! Unsupported watch type \"" << type << "\"; supported: event\n";
    return 1;
  }
  AgentApi api = connect(common, io, kWatchTimeout);
  struct sigaction interrupt {};
  struct sigaction previous {};
  interrupt.sa_handler = exit_on_interrupt;
  sigemptyset(&interrupt.sa_mask);
  sigaction(SIGINT, &interrupt, &previous);

  std::string index;
  std::string last_id;  // the last event printed
  int exit_code = 0;
  for (;;) {
    const std::string path =
        "/v1/event/list" + query_of({{"name", name}, {"index", index}, {"wait", index.empty() ? "" : kWatchWait}});
    Result<HttpResponse> response = api.send("GET", path);
    if (response.is_ok() && (response->status < 200 || response->status >= 300)) {
      response = status_from_response(*response);
    }
    if (!response.is_ok()) {
      exit_code = report_error(io.err, "Failed to list events", response.status());
      break;
    }
    nlohmann::json events = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!events.is_array()) {
      exit_code = report_error(io.err, "Failed to list events", Status::internal("the answer is not a JSON array"));
      break;
    }
    // Consul's watch prunes to the events after the last one it handled;
    // when that one has rolled out of the agent's buffer, all are new.
    size_t first_new = 0;
    for (size_t i = events.size(); i > 0; --i) {
      if (field_text(events[i - 1], "ID") == last_id) {
        first_new = i;
        break;
      }
    }
    for (size_t i = first_new; i < events.size(); ++i) {
      const nlohmann::json& event = events[i];
      if (common.json()) {
        io.out << event.dump() << "\n";
      } else {
        io.out << "Event " << field_text(event, "Name") << " (ID " << field_text(event, "ID") << ", Lamport time "
               << field_text(event, "LTime") << "): " << payload_text(event) << "\n";
      }
      last_id = field_text(event, "ID");
    }
    io.out.flush();
    auto header = response->headers.find("X-Consul-Index");
    index = header != response->headers.end() ? header->second : "1";
  }
  sigaction(SIGINT, &previous, nullptr);
  return exit_code;
}

}  // namespace roster::cli
