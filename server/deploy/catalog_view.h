#pragma once

// The last good view of the catalog, as roster-deploy plans from it.
//
// roster-deploy must never plan from a catalog it could not read, or from a
// node list that suddenly came back empty (an agent that restarted without
// its data, a read against a server that has not caught up): planning from
// it would look like every node left. So a failed read, or an empty node
// list after a non-empty one, keeps the previous view and opens an
// "outage"; the first good read closes it. Each outage is reported once when
// it starts and once when it ends, never per retry.
//
// Pure: no I/O, no clock. Thread affinity: one thread (the planning loop).

#include <string>
#include <vector>

#include "server/deploy/catalog_api.h"

namespace roster::deploy {

struct ViewLog {
  bool warning = false;  // warning when an outage starts, info when it ends
  std::string message;
};

struct ViewUpdate {
  bool changed = false;  // the view the planner reads is different
  std::vector<ViewLog> logs;
};

class CatalogView {
 public:
  ViewUpdate on_nodes(const Result<NodeList>& read);
  ViewUpdate on_kv(const Result<KvTree>& read);

  // True once both the node list (non-empty) and the KV tree have been read:
  // before that there is nothing safe to plan from.
  bool ready() const { return have_nodes_ && have_kv_; }
  bool nodes_outage() const { return nodes_outage_; }
  bool kv_outage() const { return kv_outage_; }

  const NodeList& nodes() const { return nodes_; }
  const KvTree& kv() const { return kv_; }

 private:
  NodeList nodes_;
  KvTree kv_;
  bool have_nodes_ = false;
  bool have_kv_ = false;
  bool nodes_outage_ = false;
  bool kv_outage_ = false;
};

}  // namespace roster::deploy
