#include "agent/rpc/catalog_servers.h"

#include <algorithm>

namespace roster::rpc {

std::vector<std::string> server_http_addresses(const std::vector<agent::MemberInfo>& members,
                                               const std::string& self) {
  std::vector<const agent::MemberInfo*> servers;
  for (const agent::MemberInfo& member : members) {
    if (member.server && member.status == agent::MemberStatus::alive && !member.http_address.empty()) {
      servers.push_back(&member);
    }
  }
  std::sort(servers.begin(), servers.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  auto first = std::upper_bound(servers.begin(), servers.end(), self,
                                [](const std::string& name, const auto* member) { return name < member->name; });
  std::rotate(servers.begin(), first, servers.end());
  std::vector<std::string> out;
  for (const auto* server : servers) out.push_back(server->http_address);
  return out;
}

}  // namespace roster::rpc
