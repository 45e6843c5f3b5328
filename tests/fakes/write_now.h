#pragma once

// Catalog writes in tests of a -dev core, whose LocalCatalog answers every
// write before write() returns: the outcome, synchronously.

#include <optional>
#include <string>

#include "agent/core/agent_core.h"

namespace roster::agent::testing {

inline Result<catalog::Index> write_now(AgentCore& core, catalog::CommandBody body) {
  std::optional<Result<catalog::Index>> outcome;
  core.catalog().write(std::move(body), [&outcome](Result<catalog::Index> result) { outcome = std::move(result); });
  if (!outcome) return Status::internal("the catalog did not answer at once; write_now needs a -dev core");
  return *outcome;
}

// Runs one of AgentCore's asynchronous operations and returns its outcome.
template <typename Start>
Status run_now(Start start) {
  std::optional<Status> outcome;
  start([&outcome](Status status) { outcome = std::move(status); });
  if (!outcome) return Status::internal("the operation did not finish at once; run_now needs a -dev core");
  return *outcome;
}

}  // namespace roster::agent::testing
