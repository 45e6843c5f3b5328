#pragma once

// Shared by the Raft storage tests: loggers and entry builders.

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/raft/types.h"

namespace roster::raft::testing {

inline std::shared_ptr<spdlog::logger> null_logger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// A logger whose output the test can read.
inline std::shared_ptr<spdlog::logger> capture_logger(std::ostringstream& out) {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
}

inline Entry make_entry(Index index, Term term, size_t data_bytes = 10) {
  Entry entry;
  entry.index = index;
  entry.term = term;
  entry.type = index % 7 == 0 ? EntryType::no_op : EntryType::command;
  entry.data = std::string(data_bytes, static_cast<char>('a' + index % 26));
  return entry;
}

inline std::vector<Entry> make_entries(Index first, Index last, Term term, size_t data_bytes = 10) {
  std::vector<Entry> entries;
  for (Index index = first; index <= last; ++index) entries.push_back(make_entry(index, term, data_bytes));
  return entries;
}

}  // namespace roster::raft::testing
