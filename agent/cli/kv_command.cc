#include <fstream>
#include <iterator>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"
#include "agent/cli/table.h"
#include "agent/cli/url_escape.h"
#include "common/base64.h"

namespace roster::cli {
namespace {

struct KvOptions {
  std::string key;
  std::string value;
  bool recurse = false;
  bool detailed = false;
  bool keys_only = false;
  std::string separator;
  uint64_t flags = 0;
  bool cas = false;
  uint64_t modify_index = 0;
};

int missing_key(const CommandIo& io, const std::string& command) {
  io.err << "Error! Missing KEY argument\n"
         << "Run 'roster kv " << command << " -help' for usage.\n";
  return 1;
}

void append_query(std::string& path, const std::string& parameter) {
  path += path.find('?') == std::string::npos ? "?" : "&";
  path += parameter;
}

Result<std::string> decoded_value(const nlohmann::json& pair) {
  const nlohmann::json* value = find_field(pair, "Value");
  if (value == nullptr || value->is_null()) return std::string();
  if (!value->is_string()) return Status::internal("the agent sent a Value that is not a base64 string");
  Result<std::string> decoded = base64_decode(value->get<std::string>());
  if (!decoded.is_ok()) return Status::internal("the agent sent a Value that is not valid base64: " + decoded.status().message());
  return decoded;
}

void print_detailed(std::ostream& out, const nlohmann::json& pair, const std::string& value) {
  const std::string session = field_text(pair, "Session");
  render_columns(out, {{"CreateIndex", field_text(pair, "CreateIndex")},
                       {"Flags", field_text(pair, "Flags")},
                       {"Key", field_text(pair, "Key")},
                       {"LockIndex", field_text(pair, "LockIndex")},
                       {"ModifyIndex", field_text(pair, "ModifyIndex")},
                       {"Session", session.empty() ? "-" : session},
                       {"Value", value}});
}

int kv_get(const KvOptions& options, const CommonOptions& common, const CommandIo& io) {
  if (options.key.empty() && !options.recurse && !options.keys_only) return missing_key(io, "get");
  std::string path = "/v1/kv/" + escape_path(options.key);
  if (options.keys_only) {
    append_query(path, "keys");
    if (!options.separator.empty()) append_query(path, "separator=" + escape_component(options.separator));
  } else if (options.recurse) {
    append_query(path, "recurse");
  }

  Result<nlohmann::json> pairs = connect(common, io).get_json(path);
  if (!pairs.is_ok()) {
    if (pairs.status().code() == StatusCode::not_found) {
      if (options.recurse || options.keys_only) return 0;  // an empty prefix is not an error, as in Consul
      io.err << "Error! No key exists at: " << options.key << "\n";
      return 1;
    }
    return report_error(io.err, "Failed to read " + options.key, pairs.status());
  }
  if (!pairs->is_array()) {
    return report_error(io.err, "Failed to read " + options.key,
                        Status::internal("the agent answered with something other than a list"));
  }
  if (common.json()) {
    print_json(io.out, *pairs);
    return 0;
  }
  if (options.keys_only) {
    for (const auto& key : *pairs) io.out << value_text(key) << "\n";
    return 0;
  }

  bool first = true;
  for (const auto& pair : *pairs) {
    Result<std::string> value = decoded_value(pair);
    if (!value.is_ok()) return report_error(io.err, "Failed to read " + field_text(pair, "Key"), value.status());
    if (options.detailed) {
      if (!first) io.out << "\n";
      print_detailed(io.out, pair, *value);
    } else if (options.recurse) {
      io.out << field_text(pair, "Key") << ":" << *value << "\n";
    } else {
      io.out << *value << "\n";
    }
    first = false;
  }
  return 0;
}

Result<std::string> read_value(const std::string& argument, const CommandIo& io) {
  if (argument == "-") {
    return std::string(std::istreambuf_iterator<char>(io.in), std::istreambuf_iterator<char>());
  }
  if (!argument.empty() && argument.front() == '@') {
    std::ifstream file(argument.substr(1), std::ios::binary);
    if (!file) return Status::invalid_argument("cannot read " + argument.substr(1));
    std::ostringstream content;
    content << file.rdbuf();
    return content.str();
  }
  return argument;
}

// The agent answers a KV write or delete with a bare JSON boolean.
Result<bool> write_outcome(const Result<HttpResponse>& response) {
  if (!response.is_ok()) return response.status();
  if (response->status < 200 || response->status > 299) return status_from_response(*response);
  nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_boolean()) return Status::internal("unexpected answer from the agent: " + response->body);
  return parsed.get<bool>();
}

int kv_put(const KvOptions& options, bool modify_index_given, const CommonOptions& common, const CommandIo& io) {
  if (options.key.empty()) return missing_key(io, "put");
  if (options.cas && !modify_index_given) {
    io.err << "Error! Must specify -modify-index with -cas!\n";
    return 1;
  }
  Result<std::string> value = read_value(options.value, io);
  if (!value.is_ok()) return report_error(io.err, "Failed to write " + options.key, value.status());

  std::string path = "/v1/kv/" + escape_path(options.key);
  if (options.flags != 0) append_query(path, "flags=" + std::to_string(options.flags));
  if (options.cas) append_query(path, "cas=" + std::to_string(options.modify_index));

  Result<bool> written = write_outcome(connect(common, io).send("PUT", path, *value));
  if (!written.is_ok()) return report_error(io.err, "Failed writing data to " + options.key, written.status());
  if (common.json()) {
    print_json(io.out, {{"Key", options.key}, {"Success", *written}});
  }
  if (!*written) {
    if (options.cas) {
      io.err << "Error! Did not write to " << options.key << ": CAS failed\n";
    } else {
      io.err << "Error! Failed writing data to " << options.key << "\n";
    }
    return 1;
  }
  if (!common.json()) io.out << "Success! Data written to: " << options.key << "\n";
  return 0;
}

int kv_delete(const KvOptions& options, bool modify_index_given, const CommonOptions& common, const CommandIo& io) {
  if (options.key.empty() && !options.recurse) return missing_key(io, "delete");
  if (options.cas && !modify_index_given) {
    io.err << "Error! Must specify -modify-index with -cas!\n";
    return 1;
  }
  if (options.cas && options.recurse) {
    io.err << "Error! Cannot specify both -cas and -recurse!\n";
    return 1;
  }
  std::string path = "/v1/kv/" + escape_path(options.key);
  if (options.recurse) append_query(path, "recurse");
  if (options.cas) append_query(path, "cas=" + std::to_string(options.modify_index));

  Result<bool> deleted = write_outcome(connect(common, io).send("DELETE", path));
  if (!deleted.is_ok()) return report_error(io.err, "Failed to delete " + options.key, deleted.status());
  if (common.json()) print_json(io.out, {{"Key", options.key}, {"Success", *deleted}});
  if (!*deleted) {
    io.err << "Error! Did not delete key " << options.key << (options.cas ? ": CAS failed" : "") << "\n";
    return 1;
  }
  if (!common.json()) {
    io.out << (options.recurse ? "Success! Deleted keys with prefix: " : "Success! Deleted key: ") << options.key
           << "\n";
  }
  return 0;
}

}  // namespace

int run_kv(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Reads and writes the key/value store.", "roster kv");
  app.require_subcommand(1);
  KvOptions options;
  CommonOptions common;

  CLI::App* get = app.add_subcommand("get", "Prints the value at a key, or every key under a prefix");
  get->add_option("key", options.key, "Key to read (a prefix with -recurse or -keys)");
  get->add_flag("--recurse", options.recurse, "Print every key under the prefix, as key:value lines");
  get->add_flag("--detailed", options.detailed, "Also print the key's indexes, flags and session");
  get->add_flag("--keys", options.keys_only, "List the keys under the prefix, without values");
  get->add_option("--separator", options.separator, "With -keys: stop listing at this separator (e.g. /)");
  add_common_options(*get, common);
  get->footer("Examples:\n  roster kv get app/config\n  roster kv get -recurse app/");

  CLI::App* put = app.add_subcommand("put", "Writes a value to a key");
  put->add_option("key", options.key, "Key to write");
  put->add_option("value", options.value, "Value to write; \"-\" reads stdin, @path reads a file; empty if omitted");
  put->add_option("--flags", options.flags, "Unsigned integer stored with the key, for the application's use");
  put->add_flag("--cas", options.cas, "Write only if the key's modify index equals -modify-index (0: only if absent)");
  CLI::Option* put_index = put->add_option("--modify-index", options.modify_index, "Index for -cas");
  add_common_options(*put, common);
  put->footer("Examples:\n  roster kv put app/motd 'hello'\n  roster kv put app/cert @cert.pem\n"
              "  echo on | roster kv put app/switch -\n  roster kv put -cas -modify-index=0 app/lock mine");

  CLI::App* del = app.add_subcommand("delete", "Deletes a key, or every key under a prefix");
  del->add_option("key", options.key, "Key to delete (a prefix with -recurse)");
  del->add_flag("--recurse", options.recurse, "Delete every key under the prefix");
  del->add_flag("--cas", options.cas, "Delete only if the key's modify index equals -modify-index");
  CLI::Option* delete_index = del->add_option("--modify-index", options.modify_index, "Index for -cas");
  add_common_options(*del, common);

  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  if (get->parsed()) return kv_get(options, common, io);
  if (put->parsed()) return kv_put(options, put_index->count() > 0, common, io);
  return kv_delete(options, delete_index->count() > 0, common, io);
}

}  // namespace roster::cli
