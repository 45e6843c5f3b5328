#include "server/deploy/catalog_view.h"

namespace roster::deploy {

namespace {

bool same_nodes(const std::vector<CatalogNode>& a, const std::vector<CatalogNode>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].id != b[i].id || a[i].address != b[i].address || a[i].tags != b[i].tags) {
      return false;
    }
  }
  return true;
}

bool same_entries(const std::vector<KvEntry>& a, const std::vector<KvEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].modify_index != b[i].modify_index || a[i].value != b[i].value) return false;
  }
  return true;
}

}  // namespace

ViewUpdate CatalogView::on_nodes(const Result<NodeList>& read) {
  ViewUpdate update;
  if (!read.is_ok() || (read->nodes.empty() && have_nodes_ && !nodes_.nodes.empty())) {
    if (!nodes_outage_) {
      nodes_outage_ = true;
      const std::string held = have_nodes_ ? "holding the last good view of " + std::to_string(nodes_.nodes.size()) +
                                                 " nodes; nothing is planned from it until the catalog answers"
                                           : "nothing is planned until it answers";
      const std::string what = read.is_ok() ? "the catalog returned no nodes after " +
                                                  std::to_string(nodes_.nodes.size()) + " (agent restarted without its data?)"
                                            : "cannot read the catalog's nodes: " + read.status().message();
      update.logs.push_back({true, what + "; " + held});
    }
    return update;
  }
  if (nodes_outage_) {
    nodes_outage_ = false;
    update.logs.push_back({false, "catalog nodes readable again: " + std::to_string(read->nodes.size()) + " nodes"});
  }
  if (!have_nodes_ && read->nodes.empty()) {
    // An empty catalog at start: keep waiting, there is nothing to hold.
    nodes_.index = read->index;
    return update;
  }
  update.changed = !have_nodes_ || !same_nodes(nodes_.nodes, read->nodes);
  nodes_ = read.value();
  have_nodes_ = true;
  return update;
}

ViewUpdate CatalogView::on_kv(const Result<KvTree>& read) {
  ViewUpdate update;
  if (!read.is_ok()) {
    if (!kv_outage_) {
      kv_outage_ = true;
      update.logs.push_back({true, "cannot read roster/deploy/ from the catalog: " + read.status().message() +
                                       "; holding the last good records"});
    }
    return update;
  }
  if (kv_outage_) {
    kv_outage_ = false;
    update.logs.push_back({false, "roster/deploy/ readable again: " + std::to_string(read->entries.size()) + " keys"});
  }
  update.changed = !have_kv_ || !same_entries(kv_.entries, read->entries);
  kv_ = read.value();
  have_kv_ = true;
  return update;
}

}  // namespace roster::deploy
