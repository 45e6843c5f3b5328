#include "tests/fakes/mem_env.h"

#include <algorithm>
#include <limits>

namespace roster::fakes {

struct MemEnv::FileData {
  std::string current;
  std::string durable;
  // The lowest offset changed since the last sync, or npos when clean.
  uint64_t dirty_from = kClean;

  static constexpr uint64_t kClean = std::numeric_limits<uint64_t>::max();
  void mark_dirty(uint64_t offset) { dirty_from = std::min(dirty_from, offset); }
};

class MemEnv::File final : public WritableFile {
 public:
  File(MemEnv& env, std::shared_ptr<FileData> data, uint64_t position)
      : env_(env), data_(std::move(data)), position_(position) {}

  Status write(std::string_view bytes) override {
    std::lock_guard lock(env_.mutex_);
    std::string& current = data_->current;
    if (current.size() < position_ + bytes.size()) current.resize(position_ + bytes.size(), '\0');
    current.replace(position_, bytes.size(), bytes);
    data_->mark_dirty(position_);
    position_ += bytes.size();
    return Status::ok();
  }
  Status sync() override {
    std::lock_guard lock(env_.mutex_);
    data_->durable = data_->current;
    data_->dirty_from = FileData::kClean;
    ++env_.file_syncs_;
    return Status::ok();
  }
  Status truncate(uint64_t size) override {
    std::lock_guard lock(env_.mutex_);
    if (size != data_->current.size()) data_->mark_dirty(std::min<uint64_t>(size, data_->current.size()));
    data_->current.resize(size, '\0');
    position_ = std::min(position_, size);
    return Status::ok();
  }
  Status preallocate(uint64_t size) override {
    std::lock_guard lock(env_.mutex_);
    if (data_->current.size() < size) {
      data_->mark_dirty(data_->current.size());
      data_->current.resize(size, '\0');
    }
    return Status::ok();
  }
  uint64_t position() const override { return position_; }
  void seek(uint64_t position) override { position_ = position; }
  Status close() override { return Status::ok(); }

 private:
  MemEnv& env_;
  std::shared_ptr<FileData> data_;
  uint64_t position_;
};

MemEnv::MemEnv(uint64_t seed) : random_(seed) { directories_.insert("."); directories_.insert("/"); }
MemEnv::~MemEnv() = default;

Result<std::unique_ptr<WritableFile>> MemEnv::open_writable(const std::string& path, OpenMode mode) {
  std::lock_guard lock(mutex_);
  if (!directories_.contains(parent_directory(path))) {
    return Status::not_found("cannot open " + path + ": no such directory");
  }
  std::shared_ptr<FileData>& data = names_[path];
  if (!data) data = std::make_shared<FileData>();
  if (mode == OpenMode::truncate && !data->current.empty()) {
    data->current.clear();
    data->mark_dirty(0);
  }
  return std::unique_ptr<WritableFile>(std::make_unique<File>(*this, data, data->current.size()));
}

Result<std::string> MemEnv::read_file(const std::string& path) {
  std::lock_guard lock(mutex_);
  auto found = names_.find(path);
  if (found == names_.end()) return Status::not_found("cannot open " + path + ": no such file");
  return found->second->current;
}

Result<std::string> MemEnv::read_range(const std::string& path, uint64_t offset, uint64_t length) {
  std::lock_guard lock(mutex_);
  auto found = names_.find(path);
  if (found == names_.end()) return Status::not_found("cannot open " + path + ": no such file");
  const std::string& current = found->second->current;
  if (offset >= current.size()) return std::string();
  return current.substr(offset, length);
}

Result<uint64_t> MemEnv::file_size(const std::string& path) {
  std::lock_guard lock(mutex_);
  auto found = names_.find(path);
  if (found == names_.end()) return Status::not_found("cannot stat " + path + ": no such file");
  return static_cast<uint64_t>(found->second->current.size());
}

bool MemEnv::file_exists(const std::string& path) {
  std::lock_guard lock(mutex_);
  return names_.contains(path) || directories_.contains(path);
}

Status MemEnv::rename_file(const std::string& from, const std::string& to) {
  std::lock_guard lock(mutex_);
  auto found = names_.find(from);
  if (found == names_.end()) return Status::not_found("cannot rename " + from + ": no such file");
  if (!directories_.contains(parent_directory(to))) return Status::not_found("cannot rename to " + to);
  std::shared_ptr<FileData> data = found->second;
  names_.erase(found);
  names_[to] = std::move(data);
  return Status::ok();
}

Status MemEnv::remove_file(const std::string& path) {
  std::lock_guard lock(mutex_);
  if (names_.erase(path) == 0) return Status::not_found("cannot remove " + path + ": no such file");
  return Status::ok();
}

Result<std::vector<std::string>> MemEnv::list_directory(const std::string& dir) {
  std::lock_guard lock(mutex_);
  if (!directories_.contains(dir)) return Status::not_found("cannot list " + dir + ": no such directory");
  std::vector<std::string> names;
  for (const auto& [path, data] : names_) {
    if (parent_directory(path) == dir) names.push_back(path.substr(path.find_last_of('/') + 1));
  }
  return names;  // already sorted: paths in one directory share the prefix
}

Status MemEnv::create_directory(const std::string& dir) {
  std::lock_guard lock(mutex_);
  for (std::string path = dir; !directories_.contains(path); path = parent_directory(path)) {
    directories_.insert(path);
  }
  return Status::ok();
}

Status MemEnv::sync_directory(const std::string& dir) {
  std::lock_guard lock(mutex_);
  if (!directories_.contains(dir)) return Status::not_found("cannot sync " + dir + ": no such directory");
  std::erase_if(durable_names_, [&](const auto& item) { return parent_directory(item.first) == dir; });
  for (const auto& [path, data] : names_) {
    if (parent_directory(path) == dir) durable_names_[path] = data;
  }
  return Status::ok();
}

std::chrono::steady_clock::time_point MemEnv::now() {
  // Fake time that moves a microsecond per reading, so latencies are
  // non-zero and reproducible.
  std::lock_guard lock(mutex_);
  return std::chrono::steady_clock::time_point(std::chrono::microseconds(++ticks_));
}

void MemEnv::crash_file(FileData& file, CrashMode mode) {
  if (file.dirty_from == FileData::kClean) return;
  if (mode == CrashMode::random) mode = static_cast<CrashMode>(random_() % 3);
  const std::string& current = file.current;
  const std::string& durable = file.durable;
  std::string result;
  if (mode == CrashMode::drop_unsynced) {
    result = durable;
  } else {
    uint64_t from = std::min<uint64_t>(file.dirty_from, current.size());
    uint64_t cut = from + random_() % (current.size() - from + 1);
    result = current.substr(0, cut);
    if (cut < durable.size()) result += durable.substr(cut);
    if (mode == CrashMode::tear && cut > from) {
      uint64_t garbage = 1 + random_() % std::min<uint64_t>(cut - from, 64);
      for (uint64_t i = cut - garbage; i < cut; ++i) result[i] = static_cast<char>(random_());
    }
  }
  file.current = result;
  file.durable = std::move(result);
  file.dirty_from = FileData::kClean;
}

void MemEnv::crash(CrashMode mode) {
  std::lock_guard lock(mutex_);
  // Names first: each directory with unsynced changes keeps all or none.
  std::set<std::string> dirs;
  for (const auto& [path, data] : names_) dirs.insert(parent_directory(path));
  for (const auto& [path, data] : durable_names_) dirs.insert(parent_directory(path));
  Names survivors;
  for (const std::string& dir : dirs) {
    Names now_in_dir, durable_in_dir;
    for (const auto& [path, data] : names_) if (parent_directory(path) == dir) now_in_dir.emplace(path, data);
    for (const auto& [path, data] : durable_names_) if (parent_directory(path) == dir) durable_in_dir.emplace(path, data);
    // drop_unsynced is the harshest outcome: every unsynced rename is undone.
    bool keep_changes = now_in_dir == durable_in_dir || (mode != CrashMode::drop_unsynced && random_() % 2 == 0);
    survivors.merge(keep_changes ? now_in_dir : durable_in_dir);
  }
  // Then contents, into fresh files so handles from before the crash are orphaned.
  std::map<FileData*, std::shared_ptr<FileData>> renewed;
  names_.clear();
  for (auto& [path, data] : survivors) {
    std::shared_ptr<FileData>& fresh = renewed[data.get()];
    if (!fresh) {
      crash_file(*data, mode);
      fresh = std::make_shared<FileData>(*data);
    }
    names_[path] = fresh;
  }
  durable_names_ = names_;
}

Status MemEnv::corrupt_byte(const std::string& path, uint64_t offset) {
  std::lock_guard lock(mutex_);
  auto found = names_.find(path);
  if (found == names_.end() || offset >= found->second->current.size()) {
    return Status::not_found("no byte " + std::to_string(offset) + " in " + path);
  }
  found->second->current[offset] = static_cast<char>(~found->second->current[offset]);
  if (offset < found->second->durable.size()) found->second->durable[offset] = found->second->current[offset];
  return Status::ok();
}

uint64_t MemEnv::file_syncs() const {
  std::lock_guard lock(mutex_);
  return file_syncs_;
}

}  // namespace roster::fakes
