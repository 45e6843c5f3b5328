#pragma once

// Which catalog a client agent's exec driver asks, until the cluster catalog
// lands: the HTTP API of a server it knows from the gossip pool.

#include <string>
#include <vector>

#include "agent/core/membership.h"

namespace roster::rpc {

// The HTTP addresses of the alive servers among `members`, in name order,
// starting after `self` (so clients spread over the servers instead of all
// asking the first). Members that gossip no HTTP address are left out.
std::vector<std::string> server_http_addresses(const std::vector<agent::MemberInfo>& members,
                                               const std::string& self);

}  // namespace roster::rpc
