#include "agent/core/user_events.h"

#include <boost/regex.hpp>

#include <charconv>
#include <optional>
#include <stdexcept>

namespace roster::agent {
namespace {

// Perl syntax is the nearest Boost.Regex has to Go's RE2. Boost throws when
// a match would backtrack past its complexity bound, so a pathological
// pattern from a peer costs a refusal, not the core thread.
std::optional<boost::regex> compile(const std::string& pattern, std::string* error = nullptr) {
  try {
    return boost::regex(pattern, boost::regex::perl);
  } catch (const boost::regex_error& failure) {
    if (error != nullptr) *error = failure.what();
    return std::nullopt;
  }
}

bool search(const boost::regex& pattern, const std::string& text) {
  try {
    return boost::regex_search(text, pattern);
  } catch (const std::runtime_error&) {
    return false;
  }
}

bool parse_hex(std::string_view text, uint64_t& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

Status validate_user_event(const UserEventInfo& event) {
  if (event.name.empty()) return Status::invalid_argument("User event missing name");
  if (!event.tag_filter.empty() && event.service_filter.empty()) {
    return Status::invalid_argument("Cannot provide tag filter without service filter");
  }
  for (auto [what, pattern] : {std::pair{"node", &event.node_filter}, std::pair{"service", &event.service_filter},
                               std::pair{"tag", &event.tag_filter}}) {
    std::string error;
    if (!pattern->empty() && !compile(*pattern, &error)) {
      return Status::invalid_argument(std::string("Invalid ") + what + " filter: " + error);
    }
  }
  return Status::ok();
}

bool user_event_matches(const UserEventInfo& event, const std::string& node_name,
                        const std::vector<LocalServiceTags>& services) {
  if (event.version > kUserEventVersion) return false;
  if (!event.node_filter.empty()) {
    auto node = compile(event.node_filter);
    if (!node || !search(*node, node_name)) return false;
  }
  if (event.service_filter.empty()) return true;
  auto service = compile(event.service_filter);
  if (!service) return false;
  std::optional<boost::regex> tag;
  if (!event.tag_filter.empty()) {
    tag = compile(event.tag_filter);
    if (!tag) return false;
  }
  for (const LocalServiceTags& local : services) {
    if (!search(*service, local.name) && !search(*service, local.id)) continue;
    if (!tag) return true;
    for (const std::string& value : local.tags) {
      if (search(*tag, value)) return true;
    }
  }
  return false;
}

uint64_t user_event_index(std::string_view id) {
  // 8-4-4-4-12 hex digits: the low half is the first three groups, the high
  // half the last two.
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') return 0;
  const std::string lower = std::string(id.substr(0, 8)) + std::string(id.substr(9, 4)) + std::string(id.substr(14, 4));
  const std::string upper = std::string(id.substr(19, 4)) + std::string(id.substr(24, 12));
  uint64_t low = 0;
  uint64_t high = 0;
  if (!parse_hex(lower, low) || !parse_hex(upper, high)) return 0;
  return low ^ high;
}

void UserEventLog::add(UserEventInfo event) {
  if (events_.size() >= capacity_) events_.pop_front();
  events_.push_back(std::move(event));
}

std::vector<UserEventInfo> UserEventLog::list(const std::string& name) const {
  std::vector<UserEventInfo> out;
  for (const UserEventInfo& event : events_) {
    if (name.empty() || event.name == name) out.push_back(event);
  }
  return out;
}

}  // namespace roster::agent
