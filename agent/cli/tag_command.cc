#include <cctype>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"
#include "agent/cli/table.h"
#include "agent/cli/url_escape.h"

namespace roster::cli {
namespace {

// Highest first: the layer whose value wins for a key.
constexpr const char* kLayers[] = {"Operator", "Runtime", "Image"};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Result<std::string> local_node_name(const AgentApi& api) {
  Result<nlohmann::json> self = api.get_json("/v1/agent/self");
  if (!self.is_ok()) return self.status();
  const nlohmann::json* config = find_field(*self, "Config");
  std::string name = config == nullptr ? "" : field_text(*config, "NodeName");
  if (name.empty()) return Status::internal("the agent did not report its node name (Config.NodeName)");
  return name;
}

// Key, value and owning layer of every effective tag.
void print_tag_layers(std::ostream& out, const nlohmann::json& answer) {
  nlohmann::json merged = nlohmann::json::object();
  if (const nlohmann::json* given = find_field(answer, "Merged"); given != nullptr && given->is_object()) {
    merged = *given;
  } else {
    for (auto layer = std::rbegin(kLayers); layer != std::rend(kLayers); ++layer) {
      if (const nlohmann::json* tags = find_field(answer, *layer); tags != nullptr && tags->is_object()) {
        merged.update(*tags);
      }
    }
  }
  Table table({"Key", "Value", "Layer"});
  for (const auto& [key, value] : merged.items()) {
    std::string owner = "-";
    for (const char* layer : kLayers) {
      const nlohmann::json* tags = find_field(answer, layer);
      const nlohmann::json* entry = tags == nullptr ? nullptr : find_field(*tags, key);
      if (entry != nullptr && *entry == value) {
        owner = lower(layer);
        break;
      }
    }
    table.add_row({key, value_text(value), owner});
  }
  table.render(out);
}

// GET (show) when `change` is null, else PUT the change.
int request_tags(const std::string& node_flag, const nlohmann::json& change, const CommonOptions& common,
                 const CommandIo& io) {
  AgentApi api = connect(common, io);
  std::string node = node_flag;
  if (node.empty()) {
    Result<std::string> local = local_node_name(api);
    if (!local.is_ok()) return report_error(io.err, "Failed to find the local node's name", local.status());
    node = *local;
  }
  const std::string path = "/v1/roster/node/" + escape_component(node) + "/tags";
  Result<nlohmann::json> answer = change.is_null() ? api.get_json(path) : api.json_request("PUT", path, change.dump());
  if (!answer.is_ok()) {
    return report_error(io.err, std::string(change.is_null() ? "Failed to read" : "Failed to update") + " the tags of " + node,
                        answer.status());
  }
  if (common.json()) {
    print_json(io.out, *answer);
  } else {
    print_tag_layers(io.out, *answer);
  }
  return 0;
}

}  // namespace

int run_tag(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Shows, sets or removes a node's operator tags: the highest of its three tag layers\n"
               "(operator > runtime > image), which the agent's own config never overwrites.",
               "roster tag");
  app.require_subcommand(1);
  CommonOptions common;
  std::string node;
  std::vector<std::string> arguments;

  CLI::App* set = app.add_subcommand("set", "Sets operator tags on a node");
  set->add_option("--node", node, "Node to tag (default: the agent's own node)");
  set->add_option("tags", arguments, "Tags as key=value")->required();
  add_common_options(*set, common);
  set->footer("Examples:\n  roster tag set role=web\n  roster tag set -node web-7 role=web env=prod");

  CLI::App* remove = app.add_subcommand("rm", "Removes operator tags from a node");
  remove->add_option("--node", node, "Node to untag (default: the agent's own node)");
  remove->add_option("keys", arguments, "Tag keys to remove")->required();
  add_common_options(*remove, common);
  remove->footer("Example:\n  roster tag rm -node web-7 maintenance");

  CLI::App* show = app.add_subcommand("show", "Shows a node's tags with the layer each one comes from");
  show->add_option("--node", node, "Node to show (default: the agent's own node)");
  add_common_options(*show, common);

  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;

  if (show->parsed()) return request_tags(node, nullptr, common, io);
  if (set->parsed()) {
    nlohmann::json tags = nlohmann::json::object();
    for (const std::string& argument : arguments) {
      const size_t equals = argument.find('=');
      if (equals == std::string::npos || equals == 0) {
        io.err << "Error! tags are key=value, got \"" << argument << "\"\n"
               << "Run 'roster tag set -help' for usage.\n";
        return 1;
      }
      tags[argument.substr(0, equals)] = argument.substr(equals + 1);
    }
    return request_tags(node, {{"Set", tags}}, common, io);
  }
  for (const std::string& key : arguments) {
    if (key.empty() || key.find('=') != std::string::npos) {
      io.err << "Error! rm takes tag keys, got \"" << key << "\"\n"
             << "Run 'roster tag rm -help' for usage.\n";
      return 1;
    }
  }
  return request_tags(node, {{"Remove", arguments}}, common, io);
}

}  // namespace roster::cli
