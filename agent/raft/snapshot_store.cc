#include "agent/raft/snapshot_store.h"

#include <spdlog/logger.h>

#include <algorithm>
#include <charconv>

#include "agent/raft/codec.h"

namespace roster::raft {
namespace {

constexpr std::string_view kMagic = "RSNAP001";
constexpr std::string_view kPrefix = "snapshot-";
constexpr std::string_view kSuffix = ".snap";

std::string snapshot_name(const SnapshotMeta& meta) {
  return std::string(kPrefix) + codec::hex16(meta.last_index) + "-" + codec::hex16(meta.last_term) + std::string(kSuffix);
}

// The last index a snapshot file's name claims, or nullopt for other files.
std::optional<Index> parse_snapshot_name(std::string_view name) {
  if (name.size() != kPrefix.size() + 16 + 1 + 16 + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  Index index = 0;
  const char* begin = name.data() + kPrefix.size();
  auto [end, error] = std::from_chars(begin, begin + 16, index, 16);
  if (error != std::errc() || end != begin + 16) return std::nullopt;
  return index;
}

}  // namespace

std::string encode_snapshot(const Snapshot& snapshot) {
  const std::string& data = *snapshot.data;
  std::string bytes(kMagic);
  codec::put_u64(bytes, snapshot.meta.last_index);
  codec::put_u64(bytes, snapshot.meta.last_term);
  codec::put_u32(bytes, static_cast<uint32_t>(snapshot.meta.configuration.servers.size()));
  for (const Server& server : snapshot.meta.configuration.servers) {
    codec::put_u64(bytes, server.id);
    codec::put_u8(bytes, server.voter ? 1 : 0);
    codec::put_u32(bytes, static_cast<uint32_t>(server.address.size()));
    bytes += server.address;
  }
  codec::put_u64(bytes, data.size());
  bytes.reserve(bytes.size() + data.size() + 8);
  bytes += data;
  codec::put_u64(bytes, codec::checksum(bytes));
  return bytes;
}

Result<Snapshot> decode_snapshot(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 8 || !bytes.starts_with(kMagic)) {
    return Status::internal("not a snapshot file (bad magic or too short)");
  }
  std::string_view body = bytes.substr(0, bytes.size() - 8);
  if (codec::checksum(body) != codec::load_le(bytes.substr(bytes.size() - 8), 8)) {
    return Status::internal("snapshot checksum mismatch");
  }
  codec::Reader reader(body.substr(kMagic.size()));
  Snapshot snapshot;
  uint32_t servers = 0;
  if (!reader.u64(snapshot.meta.last_index) || !reader.u64(snapshot.meta.last_term) || !reader.u32(servers)) {
    return Status::internal("snapshot header truncated");
  }
  for (uint32_t i = 0; i < servers; ++i) {
    Server server;
    uint8_t voter = 0;
    uint32_t length = 0;
    std::string_view address;
    if (!reader.u64(server.id) || !reader.u8(voter) || !reader.u32(length) || !reader.bytes(length, address)) {
      return Status::internal("snapshot configuration truncated");
    }
    server.voter = voter != 0;
    server.address = std::string(address);
    snapshot.meta.configuration.servers.push_back(std::move(server));
  }
  uint64_t length = 0;
  std::string_view data;
  if (!reader.u64(length) || !reader.bytes(length, data) || !reader.done()) {
    return Status::internal("snapshot data length does not match the file");
  }
  snapshot.data = std::make_shared<const std::string>(data);
  return snapshot;
}

SnapshotStore::SnapshotStore(Env& env, std::string dir, std::shared_ptr<spdlog::logger> logger)
    : env_(env), dir_(std::move(dir)), logger_(std::move(logger)) {}

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(Env& env, std::string dir,
                                                           std::shared_ptr<spdlog::logger> logger) {
  std::unique_ptr<SnapshotStore> store(new SnapshotStore(env, std::move(dir), std::move(logger)));
  if (Status status = store->load(); !status.is_ok()) return status;
  return store;
}

std::vector<std::string> SnapshotStore::file_names() const {
  std::vector<std::string> names;
  Result<std::vector<std::string>> listed = env_.list_directory(dir_);
  if (!listed.is_ok()) return names;
  for (const std::string& name : *listed) {
    if (parse_snapshot_name(name)) names.push_back(name);
  }
  return names;  // the hex names sort by index
}

Status SnapshotStore::load() {
  if (Status status = env_.create_directory(dir_); !status.is_ok()) return status;
  Result<std::vector<std::string>> listed = env_.list_directory(dir_);
  if (!listed.is_ok()) return listed.status();
  for (const std::string& name : *listed) {
    // A crash between writing and renaming leaves a temp file; never read.
    if (name.ends_with(".tmp")) (void)env_.remove_file(join_path(dir_, name));
  }
  std::vector<std::string> names = file_names();
  std::string failures;
  for (auto name = names.rbegin(); name != names.rend(); ++name) {
    const std::string path = join_path(dir_, *name);
    Result<std::string> bytes = env_.read_file(path);
    Result<Snapshot> snapshot = bytes.is_ok() ? decode_snapshot(*bytes) : Result<Snapshot>(bytes.status());
    if (snapshot.is_ok() && snapshot->meta.last_index != parse_snapshot_name(*name)) {
      snapshot = Status::internal("last index does not match the file name");
    }
    if (!snapshot.is_ok()) {
      logger_->error("snapshot {} is unreadable ({}); trying the one before it", path, snapshot.status().message());
      failures += (failures.empty() ? "" : "; ") + path + ": " + snapshot.status().message();
      continue;
    }
    logger_->info("loaded snapshot {} (last index {}, term {}, {} bytes of state)", path,
                  snapshot->meta.last_index, snapshot->meta.last_term, snapshot->data->size());
    latest_ = std::move(*snapshot);
    return Status::ok();
  }
  if (!failures.empty()) return Status::internal("no readable snapshot: " + failures);
  return Status::ok();
}

Status SnapshotStore::save(const Snapshot& snapshot) {
  if (snapshot.data == nullptr) return Status::invalid_argument("snapshot without data");
  if (latest_ && snapshot.meta.last_index <= latest_->meta.last_index) {
    return Status::invalid_argument("snapshot at index " + std::to_string(snapshot.meta.last_index) +
                                    " is not newer than the one at " + std::to_string(latest_->meta.last_index));
  }
  return write(snapshot, latest_ ? snapshot_name(latest_->meta) : std::string());
}

Status SnapshotStore::replace_latest(const Snapshot& snapshot) {
  if (snapshot.data == nullptr) return Status::invalid_argument("snapshot without data");
  if (!latest_ || latest_->meta.last_index != snapshot.meta.last_index ||
      latest_->meta.last_term != snapshot.meta.last_term) {
    return Status::invalid_argument("no snapshot at index " + std::to_string(snapshot.meta.last_index) + ", term " +
                                    std::to_string(snapshot.meta.last_term) + " to replace");
  }
  // The same name: the fallback is the file before it (load() checks it
  // before using it).
  const std::string name = snapshot_name(snapshot.meta);
  std::string previous;
  for (const std::string& older : file_names()) {
    if (older < name) previous = older;
  }
  return write(snapshot, previous);
}

Status SnapshotStore::write(const Snapshot& snapshot, const std::string& keep) {
  const std::string name = snapshot_name(snapshot.meta);
  if (Status status = write_file_atomically(env_, join_path(dir_, name), encode_snapshot(snapshot)); !status.is_ok()) {
    return status;
  }
  latest_ = snapshot;
  // Only valid files are kept: a corrupt one never counts as the fallback.
  for (const std::string& old : file_names()) {
    if (old != name && old != keep) {
      if (Status status = env_.remove_file(join_path(dir_, old)); !status.is_ok()) {
        logger_->warn("cannot remove old snapshot: {}", status.message());
      }
    }
  }
  return Status::ok();
}

}  // namespace roster::raft
