#pragma once

// What a snapshot restore must reproduce: the records, not the index
// bookkeeping (RestoreCatalog re-stamps that at the index it is applied at).

#include <gtest/gtest.h>

#include "agent/catalog/store_data.h"

namespace roster::catalog::testing {

inline void expect_same_contents(const StoreData& a, const StoreData& b) {
  EXPECT_EQ(a.nodes, b.nodes);
  EXPECT_EQ(a.services, b.services);
  EXPECT_EQ(a.checks, b.checks);
  EXPECT_EQ(a.kvs, b.kvs);
  EXPECT_EQ(a.kv_tombstones, b.kv_tombstones);
  EXPECT_EQ(a.kv_lock_delays, b.kv_lock_delays);
  EXPECT_EQ(a.sessions, b.sessions);
}

}  // namespace roster::catalog::testing
