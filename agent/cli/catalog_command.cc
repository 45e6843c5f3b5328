#include <algorithm>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"
#include "agent/cli/table.h"
#include "agent/cli/url_escape.h"

namespace roster::cli {
namespace {

int list_nodes(const std::vector<std::string>& tag_filters, const CommonOptions& common, const CommandIo& io) {
  std::string query;
  for (const std::string& filter : tag_filters) {
    const size_t equals = filter.find('=');
    if (equals == std::string::npos || equals == 0) {
      io.err << "Error! -tag takes key=value, got \"" << filter << "\"\n"
             << "Run 'roster catalog nodes -help' for usage.\n";
      return 1;
    }
    query += query.empty() ? "?" : "&";
    query += "node-meta=" + escape_component(filter.substr(0, equals)) + ":" +
             escape_component(filter.substr(equals + 1));
  }

  Result<nlohmann::json> nodes = connect(common, io).get_json("/v1/catalog/nodes" + query);
  if (!nodes.is_ok()) return report_error(io.err, "Failed to list nodes", nodes.status());
  if (!nodes->is_array()) {
    return report_error(io.err, "Failed to list nodes", Status::internal("the agent answered with something other than a list"));
  }
  if (common.json()) {
    print_json(io.out, *nodes);
    return 0;
  }
  if (nodes->empty()) {
    io.err << "No nodes match the given query - try expanding your search.\n";
    return 0;
  }

  std::vector<const nlohmann::json*> sorted;
  for (const auto& node : *nodes) sorted.push_back(&node);
  std::stable_sort(sorted.begin(), sorted.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
    return field_text(*a, "Node") < field_text(*b, "Node");
  });
  Table table({"Node", "ID", "Address", "DC", "Tags"});
  for (const nlohmann::json* node : sorted) {
    // Consul's catalog calls node tags "Meta"; registrations call them "NodeMeta".
    const nlohmann::json* meta = find_field(*node, "Meta");
    if (meta == nullptr) meta = find_field(*node, "NodeMeta");
    table.add_row({field_text(*node, "Node"), field_text(*node, "ID").substr(0, 8), field_text(*node, "Address"),
                   field_text(*node, "Datacenter"), format_tag_map(meta)});
  }
  table.render(io.out);
  return 0;
}

int list_services(bool show_tags, const CommonOptions& common, const CommandIo& io) {
  Result<nlohmann::json> services = connect(common, io).get_json("/v1/catalog/services");
  if (!services.is_ok()) return report_error(io.err, "Failed to list services", services.status());
  if (!services->is_object()) {
    return report_error(io.err, "Failed to list services",
                        Status::internal("the agent answered with something other than an object"));
  }
  if (common.json()) {
    print_json(io.out, *services);
    return 0;
  }
  if (services->empty()) {
    io.err << "No services match the given query - try expanding your search.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, tags] : services->items()) {
    if (!show_tags) {
      rows.push_back({name});
      continue;
    }
    std::vector<std::string> sorted_tags;
    if (tags.is_array()) {
      for (const auto& tag : tags) sorted_tags.push_back(value_text(tag));
    }
    std::sort(sorted_tags.begin(), sorted_tags.end());
    std::string joined;
    for (const auto& tag : sorted_tags) joined += (joined.empty() ? "" : ",") + tag;
    rows.push_back({name, joined});
  }
  render_columns(io.out, rows);
  return 0;
}

}  // namespace

int run_catalog(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Lists what the catalog holds: nodes with their tags, and services.", "roster catalog");
  app.require_subcommand(1);
  CommonOptions common;

  CLI::App* nodes = app.add_subcommand("nodes", "Lists nodes, optionally only those with given tags");
  std::vector<std::string> tag_filters;
  nodes->add_option("--tag,--node-meta", tag_filters,
                    "Only nodes with this tag, as key=value; repeat to require several");
  add_common_options(*nodes, common);
  nodes->footer("Examples:\n  roster catalog nodes\n  roster catalog nodes -tag role=web -tag env=prod");

  CLI::App* services = app.add_subcommand("services", "Lists the services registered in the catalog");
  bool show_tags = false;
  services->add_flag("--tags", show_tags, "Also show each service's tags");
  add_common_options(*services, common);

  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  if (nodes->parsed()) return list_nodes(tag_filters, common, io);
  return list_services(show_tags, common, io);
}

}  // namespace roster::cli
