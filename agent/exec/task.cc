#include "agent/exec/task.h"

#include <algorithm>

namespace roster::exec {

const char* task_status_name(TaskStatus status) {
  switch (status) {
    case TaskStatus::ok: return "ok";
    case TaskStatus::changed: return "changed";
    case TaskStatus::failed: return "failed";
    case TaskStatus::skipped: return "skipped";
    case TaskStatus::unknown: return "unknown";
  }
  return "unknown";
}

namespace {

Status wrong_type(std::string_view key, const char* wanted) {
  return Status::invalid_argument("argument '" + std::string(key) + "' must be " + wanted);
}

}  // namespace

bool has_arg(const Args& args, std::string_view key) { return args.find(key) != args.end(); }

Result<std::string> string_arg(const Args& args, std::string_view key) {
  auto found = args.find(key);
  if (found == args.end()) return Status::invalid_argument("missing argument '" + std::string(key) + "'");
  if (const auto* text = std::get_if<std::string>(&found->second)) return *text;
  return wrong_type(key, "a string");
}

Result<std::string> string_arg_or(const Args& args, std::string_view key, std::string fallback) {
  if (!has_arg(args, key)) return fallback;
  return string_arg(args, key);
}

Result<bool> bool_arg_or(const Args& args, std::string_view key, bool fallback) {
  auto found = args.find(key);
  if (found == args.end()) return fallback;
  if (const auto* flag = std::get_if<bool>(&found->second)) return *flag;
  return wrong_type(key, "a boolean");
}

Result<int64_t> int_arg_or(const Args& args, std::string_view key, int64_t fallback) {
  auto found = args.find(key);
  if (found == args.end()) return fallback;
  if (const auto* number = std::get_if<int64_t>(&found->second)) return *number;
  return wrong_type(key, "an integer");
}

Result<StringList> list_arg(const Args& args, std::string_view key) {
  auto found = args.find(key);
  if (found == args.end()) return StringList{};
  if (const auto* list = std::get_if<StringList>(&found->second)) return *list;
  if (const auto* text = std::get_if<std::string>(&found->second)) return StringList{*text};
  return wrong_type(key, "a string or a list of strings");
}

namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace

std::string unified_diff(std::string_view label, std::string_view before, std::string_view after) {
  if (before == after) return "";
  std::vector<std::string_view> old_lines = split_lines(before);
  std::vector<std::string_view> new_lines = split_lines(after);
  size_t prefix = 0;
  while (prefix < old_lines.size() && prefix < new_lines.size() && old_lines[prefix] == new_lines[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < old_lines.size() - prefix && suffix < new_lines.size() - prefix &&
         old_lines[old_lines.size() - 1 - suffix] == new_lines[new_lines.size() - 1 - suffix]) {
    ++suffix;
  }
  std::string out = "--- " + std::string(label) + " (before)\n+++ " + std::string(label) + " (after)\n";
  out += "@@ -" + std::to_string(prefix + 1) + "," + std::to_string(old_lines.size() - prefix - suffix) + " +" +
         std::to_string(prefix + 1) + "," + std::to_string(new_lines.size() - prefix - suffix) + " @@\n";
  for (size_t i = prefix; i < old_lines.size() - suffix; ++i) out += "-" + std::string(old_lines[i]) + "\n";
  for (size_t i = prefix; i < new_lines.size() - suffix; ++i) out += "+" + std::string(new_lines[i]) + "\n";
  if (old_lines.size() == new_lines.size() && prefix + suffix == old_lines.size()) {
    out += " (only the trailing newline differs)\n";
  }
  return out;
}

}  // namespace roster::exec
