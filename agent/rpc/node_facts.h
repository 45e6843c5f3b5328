#pragma once

// The facts an agent writes to roster/deploy/facts/<node> at start, for
// roster-deploy's templates: hostname, OS release, CPUs, memory.

#include <string>
#include <string_view>

#include "common/deploy/records.h"

namespace roster::rpc {

// PRETTY_NAME from the text of /etc/os-release (quotes and escapes removed);
// "" when it has none.
std::string pretty_name_from_os_release(std::string_view text);

// This machine's facts: `hostname` as given, the rest read from the system
// (/etc/os-release, sysconf). Never fails; a fact that cannot be read is left
// empty or zero.
deploy_records::NodeFacts read_node_facts(const std::string& hostname);

}  // namespace roster::rpc
