#include "agent/raft/wal.h"

#include <spdlog/logger.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "agent/raft/codec.h"

namespace roster::raft {
namespace {

enum class RecordType : uint8_t {
  segment_header = 1,
  entry = 2,
  hard_state = 3,
  // Everything before it is gone: a snapshot that replaced the log (payload:
  // the snapshot's last index). Entries written after it continue from there.
  discard = 4,
};

constexpr size_t kRecordHeaderBytes = 4 + 1 + 8;  // length, type, checksum
constexpr std::string_view kPrefix = "wal-";
constexpr std::string_view kSuffix = ".log";

std::string segment_name(uint64_t sequence, Index first_index) {
  return std::string(kPrefix) + codec::hex16(sequence) + "-" + codec::hex16(first_index) + std::string(kSuffix);
}

// "wal-<16 hex>-<16 hex>.log" -> (sequence, first index).
std::optional<std::pair<uint64_t, Index>> parse_segment_name(std::string_view name) {
  if (name.size() != kPrefix.size() + 16 + 1 + 16 + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix) || name[kPrefix.size() + 16] != '-') {
    return std::nullopt;
  }
  auto hex = [](std::string_view text, uint64_t& value) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    return error == std::errc() && end == text.data() + text.size();
  };
  uint64_t sequence = 0, first_index = 0;
  if (!hex(name.substr(kPrefix.size(), 16), sequence) || !hex(name.substr(kPrefix.size() + 17, 16), first_index)) {
    return std::nullopt;
  }
  return std::make_pair(sequence, first_index);
}

std::string encode_record(RecordType type, std::string_view payload) {
  std::string record;
  record.reserve(kRecordHeaderBytes + payload.size());
  const char type_byte = static_cast<char>(type);
  codec::put_u32(record, static_cast<uint32_t>(payload.size()));
  codec::put_u8(record, static_cast<uint8_t>(type));
  codec::put_u64(record, codec::checksum(std::string_view(&type_byte, 1), payload));
  record.append(payload);
  return record;
}

std::string encode_entry(const Entry& entry) {
  std::string payload;
  payload.reserve(17 + entry.data.size());
  codec::put_u64(payload, entry.term);
  codec::put_u64(payload, entry.index);
  codec::put_u8(payload, static_cast<uint8_t>(entry.type));
  payload.append(entry.data);
  return encode_record(RecordType::entry, payload);
}

std::string encode_hard_state(const HardState& state) {
  std::string payload;
  codec::put_u64(payload, state.current_term);
  codec::put_u64(payload, state.voted_for);
  codec::put_u64(payload, state.commit_index);
  return encode_record(RecordType::hard_state, payload);
}

std::string encode_discard(Index snapshot_index) {
  std::string payload;
  codec::put_u64(payload, snapshot_index);
  return encode_record(RecordType::discard, payload);
}

std::string encode_segment_header(uint64_t sequence, Index first_index) {
  std::string payload;
  codec::put_u64(payload, sequence);
  codec::put_u64(payload, first_index);
  return encode_record(RecordType::segment_header, payload);
}

struct Record {
  RecordType type;
  std::string_view payload;
  size_t size;  // header + payload
};

enum class Parse { record, end, bad };

struct Parsed {
  Parse outcome;
  Record record{};
  const char* problem = "";
};

// Parses the record at `offset`. `end`: a zero length or the end of the file.
Parsed parse_record(std::string_view data, size_t offset) {
  if (offset == data.size()) return {Parse::end};
  if (data.size() - offset < 4) {
    bool zeros = std::all_of(data.begin() + static_cast<ptrdiff_t>(offset), data.end(), [](char c) { return c == 0; });
    return zeros ? Parsed{Parse::end} : Parsed{Parse::bad, {}, "truncated length"};
  }
  const uint64_t length = codec::load_le(data.substr(offset), 4);
  if (length == 0) return {Parse::end};
  if (data.size() - offset < kRecordHeaderBytes || length > data.size() - offset - kRecordHeaderBytes) {
    return {Parse::bad, {}, "record runs past the end of the file"};
  }
  const uint8_t type = static_cast<uint8_t>(data[offset + 4]);
  if (type < static_cast<uint8_t>(RecordType::segment_header) || type > static_cast<uint8_t>(RecordType::discard)) {
    return {Parse::bad, {}, "unknown record type"};
  }
  const uint64_t expected = codec::load_le(data.substr(offset + 5), 8);
  std::string_view payload = data.substr(offset + kRecordHeaderBytes, length);
  if (codec::checksum(data.substr(offset + 4, 1), payload) != expected) return {Parse::bad, {}, "checksum mismatch"};
  return {Parse::record, Record{static_cast<RecordType>(type), payload, kRecordHeaderBytes + length}};
}

// The offset of the first well-formed record at or after `from`, if any. Only
// runs when recovery meets a bad record or an early end, so it may be slow;
// runs of zeros (preallocated space) are skipped, since no record starts with
// four zero bytes.
std::optional<size_t> find_valid_record(std::string_view data, size_t from) {
  size_t offset = from;
  while (offset + kRecordHeaderBytes <= data.size()) {
    if (codec::load_le(data.substr(offset), 4) == 0) {
      auto nonzero = std::find_if(data.begin() + static_cast<ptrdiff_t>(offset) + 4, data.end(),
                                  [](char c) { return c != 0; });
      if (nonzero == data.end()) return std::nullopt;
      offset = std::max(offset + 1, static_cast<size_t>(nonzero - data.begin()) - 3);
      continue;
    }
    if (parse_record(data, offset).outcome == Parse::record) return offset;
    ++offset;
  }
  return std::nullopt;
}

// The log as replay rebuilds it; see "Log semantics" in wal.h.
void apply_entry(std::vector<Entry>& log, Entry entry) {
  if (!log.empty() && entry.index <= log.back().index) {
    if (entry.index <= log.front().index) {
      log.clear();
    } else {
      log.resize(entry.index - log.front().index);
    }
  } else if (!log.empty() && entry.index > log.back().index + 1) {
    log.clear();
  }
  log.push_back(std::move(entry));
}

}  // namespace

Wal::Wal(Env& env, std::string dir, WalOptions options, std::shared_ptr<spdlog::logger> logger)
    : env_(env), dir_(std::move(dir)), options_(options), logger_(std::move(logger)) {}

Wal::~Wal() {
  if (tail_) (void)tail_->close();
}

Result<std::unique_ptr<Wal>> Wal::open(Env& env, std::string dir, WalOptions options,
                                       std::shared_ptr<spdlog::logger> logger) {
  if (options.segment_bytes < 1024) return Status::invalid_argument("WAL segment size must be at least 1 KiB");
  std::unique_ptr<Wal> wal(new Wal(env, std::move(dir), options, std::move(logger)));
  if (Status status = wal->replay(); !status.is_ok()) return status;
  return wal;
}

std::vector<std::string> Wal::segment_paths() const {
  std::vector<std::string> paths;
  for (const Segment& segment : segments_) paths.push_back(segment.path);
  return paths;
}

Status Wal::replay() {
  if (Status status = env_.create_directory(dir_); !status.is_ok()) return status;
  Result<std::vector<std::string>> names = env_.list_directory(dir_);
  if (!names.is_ok()) return names.status();
  for (const std::string& name : *names) {
    if (auto parsed = parse_segment_name(name)) {
      segments_.push_back(Segment{parsed->first, parsed->second, 0, join_path(dir_, name)});
    }
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.sequence < b.sequence; });
  for (size_t i = 1; i < segments_.size(); ++i) {
    if (segments_[i].sequence != segments_[i - 1].sequence + 1) {
      return Status::internal("WAL segment " + std::to_string(segments_[i - 1].sequence + 1) + " is missing before " +
                              segments_[i].path);
    }
  }
  if (segments_.empty()) return start_segment();

  std::vector<Entry> log;
  uint64_t tail_end = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& segment = segments_[i];
    const bool last = i + 1 == segments_.size();
    Result<std::string> contents = env_.read_file(segment.path);
    if (!contents.is_ok()) return contents.status();
    const std::string_view data = *contents;

    size_t offset = 0;
    auto corrupt = [&](const std::string& problem) {
      return Status::internal("WAL corrupt: " + problem + " in " + segment.path + " at offset " +
                              std::to_string(offset) + ", before the end of the log; refusing to drop entries");
    };
    while (true) {
      Parsed parsed = parse_record(data, offset);
      if (parsed.outcome == Parse::end || parsed.outcome == Parse::bad) {
        // A torn write can only be the last thing in the last segment, since
        // a segment is synced before the next one is started.
        std::optional<size_t> later = find_valid_record(data, offset + (parsed.outcome == Parse::bad ? 1 : 4));
        if (later) {
          return corrupt(std::string(parsed.outcome == Parse::bad ? parsed.problem : "zero length") +
                         " followed by a valid record at offset " + std::to_string(*later));
        }
        if (parsed.outcome == Parse::bad && !last) return corrupt(parsed.problem);
        if (offset == 0 && !last) return corrupt("empty segment");
        if (parsed.outcome == Parse::bad || offset == 0) {
          size_t used = data.find_last_not_of('\0');
          size_t dropped = used == std::string_view::npos || used < offset ? 0 : used + 1 - offset;
          logger_->warn("WAL {}: torn tail cut off at offset {} ({}), {} bytes dropped; recovered {} entries before it",
                        segment.path, offset, parsed.outcome == Parse::bad ? parsed.problem : "no segment header",
                        dropped, log.size());
        }
        break;
      }
      const Record& record = parsed.record;
      codec::Reader reader(record.payload);
      if (offset == 0) {
        uint64_t sequence = 0, first_index = 0;
        if (record.type != RecordType::segment_header || !reader.u64(sequence) || !reader.u64(first_index) ||
            sequence != segment.sequence) {
          return corrupt("missing or mismatched segment header");
        }
      } else if (record.type == RecordType::hard_state) {
        HardState state;
        if (!reader.u64(state.current_term) || !reader.u64(state.voted_for) || !reader.u64(state.commit_index) ||
            !reader.done()) {
          return corrupt("malformed hard state");
        }
        hard_state_ = state;
      } else if (record.type == RecordType::discard) {
        Index snapshot_index = 0;
        if (!reader.u64(snapshot_index) || !reader.done()) return corrupt("malformed discard record");
        log.clear();
      } else if (record.type == RecordType::entry) {
        Entry entry;
        uint8_t type = 0;
        if (!reader.u64(entry.term) || !reader.u64(entry.index) || !reader.u8(type) ||
            type > static_cast<uint8_t>(EntryType::configuration) || entry.index == 0) {
          return corrupt("malformed entry");
        }
        entry.type = static_cast<EntryType>(type);
        entry.data = std::string(reader.rest());
        segment.max_entry_index = std::max(segment.max_entry_index, entry.index);
        apply_entry(log, std::move(entry));
      } else {
        return corrupt("segment header in the middle of a segment");
      }
      offset += record.size;
    }
    if (last) tail_end = offset;
  }
  last_index_ = log.empty() ? 0 : log.back().index;
  recovered_entries_ = std::move(log);
  logger_->info("WAL {}: recovered {} entries (last index {}) from {} segments, term {}", dir_,
                recovered_entries_.size(), last_index_, segments_.size(), hard_state_.current_term);
  return open_tail(tail_end);
}

// Zeroes whatever follows the last good record, so a later recovery never
// mistakes the remains of a torn write for records after new ones.
Status Wal::open_tail(uint64_t valid_end) {
  const Segment& segment = segments_.back();
  Result<std::unique_ptr<WritableFile>> file = env_.open_writable(segment.path, OpenMode::keep);
  if (!file.is_ok()) return file.status();
  tail_ = std::move(*file);
  if (Status status = tail_->truncate(valid_end); !status.is_ok()) return status;
  if (Status status = tail_->preallocate(options_.segment_bytes); !status.is_ok()) return status;
  tail_->seek(valid_end);
  if (valid_end == 0) {
    std::string records = encode_segment_header(segment.sequence, segment.first_index) + encode_hard_state(hard_state_);
    if (Status status = tail_->write(records); !status.is_ok()) return status;
  }
  return tail_->sync();
}

Status Wal::start_segment() {
  if (tail_) {
    if (Status status = tail_->sync(); !status.is_ok()) return status;
    if (Status status = tail_->close(); !status.is_ok()) return status;
    tail_.reset();
  }
  Segment segment;
  segment.sequence = segments_.empty() ? 1 : segments_.back().sequence + 1;
  segment.first_index = last_index_ + 1;
  segment.path = join_path(dir_, segment_name(segment.sequence, segment.first_index));
  Result<std::unique_ptr<WritableFile>> file = env_.open_writable(segment.path, OpenMode::truncate);
  if (!file.is_ok()) return file.status();
  std::unique_ptr<WritableFile> tail = std::move(*file);
  if (Status status = tail->preallocate(options_.segment_bytes); !status.is_ok()) return status;
  std::string records = encode_segment_header(segment.sequence, segment.first_index) + encode_hard_state(hard_state_);
  if (Status status = tail->write(records); !status.is_ok()) return status;
  if (Status status = tail->sync(); !status.is_ok()) return status;
  if (Status status = env_.sync_directory(dir_); !status.is_ok()) return status;
  segments_.push_back(std::move(segment));
  tail_ = std::move(tail);
  return Status::ok();
}

Status Wal::fail(Status status) {
  if (failure_.is_ok() && !status.is_ok()) {
    failure_ = status;
    logger_->error("WAL {}: {}; refusing further writes until reopened", dir_, status.to_string());
  }
  return status;
}

Status Wal::write_records(const std::string& records) {
  if (records.empty()) return Status::ok();
  return fail(tail_->write(records));
}

Status Wal::append(std::span<const Entry> entries) {
  if (!failure_.is_ok()) return failure_;
  if (entries.empty()) return Status::ok();
  const Index first = entries.front().index;
  if (first == 0 || (first > last_index_ + 1 && first != snapshot_index_ + 1)) {
    return Status::invalid_argument("WAL append at index " + std::to_string(first) + " leaves a gap after index " +
                                    std::to_string(last_index_));
  }
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index != entries[i - 1].index + 1) {
      return Status::invalid_argument("WAL append of non-contiguous entries at index " +
                                      std::to_string(entries[i].index));
    }
  }
  std::string pending;
  for (const Entry& entry : entries) {
    std::string record = encode_entry(entry);
    const bool segment_has_entries = segments_.back().max_entry_index != 0 || !pending.empty();
    if (segment_has_entries && tail_->position() + pending.size() + record.size() > options_.segment_bytes) {
      if (Status status = write_records(pending); !status.is_ok()) return status;
      pending.clear();
      last_index_ = entry.index - 1;  // the new segment's name says where it starts
      if (Status status = fail(start_segment()); !status.is_ok()) return status;
    }
    pending += record;
    segments_.back().max_entry_index = std::max(segments_.back().max_entry_index, entry.index);
  }
  if (Status status = write_records(pending); !status.is_ok()) return status;
  last_index_ = entries.back().index;
  return Status::ok();
}

Status Wal::save_hard_state(const HardState& state) {
  if (!failure_.is_ok()) return failure_;
  std::string record = encode_hard_state(state);
  hard_state_ = state;
  if (tail_->position() + record.size() > options_.segment_bytes) return fail(start_segment());
  return write_records(record);
}

Status Wal::sync() {
  if (!failure_.is_ok()) return failure_;
  return fail(tail_->sync());
}

Status Wal::discard_entries(Index snapshot_index) {
  if (!failure_.is_ok()) return failure_;
  // In a fresh segment, so the older ones can all go: replay reads them
  // first, and the discard record then drops what they held even if a crash
  // stops the removals half way.
  last_index_ = snapshot_index;
  snapshot_index_ = snapshot_index;
  if (Status status = fail(start_segment()); !status.is_ok()) return status;
  if (Status status = fail(write_records(encode_discard(snapshot_index))); !status.is_ok()) return status;
  if (Status status = fail(tail_->sync()); !status.is_ok()) return status;
  while (segments_.size() > 1) {
    const std::string path = segments_.front().path;
    if (Status status = fail(env_.remove_file(path)); !status.is_ok()) return status;
    segments_.erase(segments_.begin());
    if (Status status = fail(env_.sync_directory(dir_)); !status.is_ok()) return status;
  }
  logger_->info("WAL {}: log discarded; a snapshot at index {} replaces it", dir_, snapshot_index);
  return Status::ok();
}

Status Wal::compact(Index up_to) {
  if (!failure_.is_ok()) return failure_;
  while (segments_.size() > 1 && segments_.front().max_entry_index <= up_to) {
    const std::string path = segments_.front().path;
    if (Status status = env_.remove_file(path); !status.is_ok()) return status;
    segments_.erase(segments_.begin());
    // One directory sync per removal: the removals become durable oldest
    // first, so a crash never leaves a gap in the sequence.
    if (Status status = env_.sync_directory(dir_); !status.is_ok()) return status;
    logger_->info("WAL {}: removed {} (entries up to {} are in a snapshot)", dir_, path, up_to);
  }
  return Status::ok();
}

}  // namespace roster::raft
