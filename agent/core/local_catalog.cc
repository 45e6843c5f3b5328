#include "agent/core/local_catalog.h"

namespace roster::agent {

LocalCatalog::LocalCatalog(const Clock& clock, std::string server_address)
    : clock_(clock), server_address_(std::move(server_address)) {}

void LocalCatalog::write(catalog::CommandBody body, WriteDone done) {
  const catalog::Index index = replica_.store().last_index() + 1;
  Status status = replica_.apply(index, catalog::Command{clock_.unix_nanos(), std::move(body)});
  if (!done) return;
  if (!status.is_ok()) {
    done(std::move(status));
  } else {
    done(index);
  }
}

void LocalCatalog::write_transaction(catalog::Transaction transaction, TxnDone done) {
  const catalog::Index index = replica_.store().last_index() + 1;
  TxnResult result;
  result.status = replica_.apply(index, catalog::Command{clock_.unix_nanos(), std::move(transaction)}, &result.outcome);
  result.index = index;
  // A store that refused the command before trying its operations still owes
  // the caller an error it can name.
  if (!result.status.is_ok() && result.outcome.ok()) result.outcome.errors.push_back({0, result.status.message()});
  if (done) done(std::move(result));
}

void LocalCatalog::prepare_read(Consistency, std::optional<std::chrono::nanoseconds>, ReadyDone done) {
  done(Status::ok());
}

}  // namespace roster::agent
