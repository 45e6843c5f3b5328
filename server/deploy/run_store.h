#pragma once

// Runs under roster/deploy/runs/<id>: one record per planning round that
// started bundles, updated as its nodes answer.
//
// Run ids are zero-padded decimal numbers ("000007"), continuing after the
// highest id already in the catalog, so a restarted or standby instance
// continues the sequence. At most `keep_runs` records are kept: the oldest
// are deleted as new ones are written.
//
// Writes are buffered: open() and record() change records in memory and
// flush() writes the changed ones, so a catalog that is briefly unreachable
// loses nothing (flush() is retried by the next round).
//
// Thread affinity: one thread. The CatalogApi is borrowed.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/deploy/records.h"
#include "common/status.h"
#include "server/deploy/catalog_api.h"
#include "server/deploy/dispatcher.h"

namespace roster::deploy {

std::string format_run_id(uint64_t number);
// The number of a run id; 0 for a key that is not one.
uint64_t parse_run_id(const std::string& id);

class RunStore {
 public:
  RunStore(CatalogApi& api, int keep_runs = 200);

  // The runs the catalog holds (records.runs): ids continue after the
  // highest, and unfinished runs keep being updated.
  void resume(const std::map<std::string, deploy_records::RunRecord>& runs);

  // A new run for `nodes` (name -> desired hash), every node pending.
  std::string open(const std::map<std::string, std::string>& nodes, const std::string& trigger, int64_t now_unix_ms);

  // Applies a dispatcher event to its run. Returns true when it finished
  // the run (every node applied, failed, held or skipped).
  bool record(const DispatchEvent& event, int64_t now_unix_ms);

  // Writes the changed runs and deletes the ones beyond keep_runs. Returns
  // the first error; what failed stays pending for the next flush.
  Status flush();

  const deploy_records::RunRecord* run(const std::string& id) const;
  std::vector<std::string> ids() const;  // oldest first

 private:
  void prune();

  CatalogApi& api_;
  int keep_runs_;
  uint64_t highest_ = 0;
  std::map<uint64_t, deploy_records::RunRecord> runs_;
  std::set<uint64_t> dirty_;
  std::set<uint64_t> to_delete_;
};

}  // namespace roster::deploy
