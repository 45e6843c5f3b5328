#include <algorithm>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"
#include "agent/cli/table.h"

namespace roster::cli {
namespace {

// Serf's member status codes, as Consul reports them.
std::string member_status_name(const nlohmann::json* status) {
  if (status == nullptr) return "unknown";
  if (status->is_string()) return status->get<std::string>();
  if (!status->is_number_integer()) return "unknown";
  switch (status->get<int>()) {
    case 0: return "none";
    case 1: return "alive";
    case 2: return "leaving";
    case 3: return "left";
    case 4: return "failed";
    default: return "unknown";
  }
}

std::string member_address(const nlohmann::json& member) {
  std::string address = field_text(member, "Addr");
  const std::string port = field_text(member, "Port");
  if (port.empty()) return address;
  if (address.find(':') != std::string::npos) address = "[" + address + "]";
  return address + ":" + port;
}

}  // namespace

int run_members(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Lists the members of the gossip pool this agent sees, with their status and gossip tags.",
               "roster members");
  CommonOptions common;
  add_common_options(app, common);
  app.footer("Example:\n  roster members -format=json");
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;

  Result<nlohmann::json> members = connect(common, io).get_json("/v1/agent/members");
  if (!members.is_ok()) return report_error(io.err, "Failed to list members", members.status());
  if (!members->is_array()) {
    return report_error(io.err, "Failed to list members",
                        Status::internal("the agent answered with something other than a list"));
  }
  if (common.json()) {
    print_json(io.out, *members);
    return 0;
  }

  std::vector<const nlohmann::json*> sorted;
  for (const auto& member : *members) sorted.push_back(&member);
  std::stable_sort(sorted.begin(), sorted.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
    return field_text(*a, "Name") < field_text(*b, "Name");
  });
  Table table({"Node", "Address", "Status", "Tags"});
  for (const nlohmann::json* member : sorted) {
    table.add_row({field_text(*member, "Name"), member_address(*member), member_status_name(find_field(*member, "Status")),
                   format_tag_map(find_field(*member, "Tags"))});
  }
  table.render(io.out);
  return 0;
}

}  // namespace roster::cli
