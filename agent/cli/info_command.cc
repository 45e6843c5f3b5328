#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"

namespace roster::cli {

int run_info(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Shows the local agent's identity and, when it reports them, its runtime statistics, "
               "as \"key = value\" lines grouped by section.",
               "roster info");
  CommonOptions common;
  add_common_options(app, common);
  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;

  Result<nlohmann::json> self = connect(common, io).get_json("/v1/agent/self");
  if (!self.is_ok()) return report_error(io.err, "Failed to query the agent", self.status());
  if (common.json()) {
    print_json(io.out, *self);
    return 0;
  }

  // Sorted sections and keys, so the output diffs cleanly between agents.
  std::map<std::string, std::map<std::string, std::string>> sections;
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json* config = find_field(*self, "Config");
  if (config == nullptr) config = &kEmpty;
  auto& agent = sections["agent"];
  agent["node_name"] = field_text(*config, "NodeName");
  agent["node_id"] = field_text(*config, "NodeID");
  agent["datacenter"] = field_text(*config, "Datacenter");
  agent["server"] = field_text(*config, "Server");
  agent["version"] = field_text(*config, "Version");
  if (const nlohmann::json* stats = find_field(*self, "Stats"); stats != nullptr && stats->is_object()) {
    for (const auto& [section, values] : stats->items()) {
      if (!values.is_object()) continue;
      auto& lines = sections[section];
      for (const auto& [key, value] : values.items()) lines.emplace(key, value_text(value));
    }
  }
  for (const auto& [section, lines] : sections) {
    io.out << section << ":\n";
    for (const auto& [key, value] : lines) io.out << "\t" << key << " = " << value << "\n";
  }
  return 0;
}

}  // namespace roster::cli
