#pragma once

// An Env that forwards to another one and fails on request: the N-th file
// sync, the N-th write, a short write, or the N-th rename. A failed sync does
// not reach the wrapped Env, so with a MemEnv underneath the data it would have
// made durable is lost at the next crash, as after a real fsync error.
//
// A sync hook runs before every file sync, outside any lock; a test can block
// in it to hold a sync "in flight" (see the group-commit tests).
//
// Counts are 1-based and count from the call to fail_*(): fail_sync(1) fails
// the next sync. Each armed fault fires once.
//
// Thread safety: all members may be called from any thread.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/env.h"

namespace roster::fakes {

class FaultEnv final : public Env {
 public:
  explicit FaultEnv(Env& base) : base_(base) {}

  void fail_sync(int nth) { sync_fault_.arm(syncs_.load(), nth); }
  void fail_write(int nth) { write_fault_.arm(writes_.load(), nth); }
  // The nth write writes the first half of its bytes, then fails.
  void short_write(int nth) { short_write_fault_.arm(writes_.load(), nth); }
  void fail_rename(int nth) { rename_fault_.arm(renames_.load(), nth); }
  void set_sync_hook(std::function<void()> hook) {
    std::lock_guard lock(hook_mutex_);
    sync_hook_ = std::move(hook);
  }

  int syncs() const { return syncs_.load(); }  // file syncs attempted
  int writes() const { return writes_.load(); }

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path, OpenMode mode) override {
    Result<std::unique_ptr<WritableFile>> file = base_.open_writable(path, mode);
    if (!file.is_ok()) return file.status();
    return std::unique_ptr<WritableFile>(std::make_unique<File>(*this, path, std::move(*file)));
  }
  Result<std::string> read_file(const std::string& path) override { return base_.read_file(path); }
  Result<std::string> read_range(const std::string& path, uint64_t offset, uint64_t length) override {
    return base_.read_range(path, offset, length);
  }
  Result<uint64_t> file_size(const std::string& path) override { return base_.file_size(path); }
  bool file_exists(const std::string& path) override { return base_.file_exists(path); }
  Status rename_file(const std::string& from, const std::string& to) override {
    if (rename_fault_.fires(++renames_)) return Status::internal("injected rename failure: " + from);
    return base_.rename_file(from, to);
  }
  Status remove_file(const std::string& path) override { return base_.remove_file(path); }
  Result<std::vector<std::string>> list_directory(const std::string& dir) override {
    return base_.list_directory(dir);
  }
  Status create_directory(const std::string& dir) override { return base_.create_directory(dir); }
  Status sync_directory(const std::string& dir) override { return base_.sync_directory(dir); }
  std::chrono::steady_clock::time_point now() override { return base_.now(); }

 private:
  // Fires once, on the call numbered `target`.
  struct Fault {
    std::atomic<int> target{0};
    void arm(int done, int nth) { target.store(nth > 0 ? done + nth : 0); }
    bool fires(int call) {
      int expected = call;
      return call > 0 && target.compare_exchange_strong(expected, 0);
    }
  };

  class File final : public WritableFile {
   public:
    File(FaultEnv& env, std::string path, std::unique_ptr<WritableFile> base)
        : env_(env), path_(std::move(path)), base_(std::move(base)) {}
    Status write(std::string_view data) override {
      int call = ++env_.writes_;
      if (env_.write_fault_.fires(call)) return Status::internal("injected write failure: " + path_);
      if (env_.short_write_fault_.fires(call)) {
        (void)base_->write(data.substr(0, data.size() / 2));
        return Status::internal("injected short write: " + path_);
      }
      return base_->write(data);
    }
    Status sync() override {
      int call = ++env_.syncs_;
      std::function<void()> hook;
      {
        std::lock_guard lock(env_.hook_mutex_);
        hook = env_.sync_hook_;
      }
      if (hook) hook();
      if (env_.sync_fault_.fires(call)) return Status::internal("injected fdatasync failure: " + path_);
      return base_->sync();
    }
    Status truncate(uint64_t size) override { return base_->truncate(size); }
    Status preallocate(uint64_t size) override { return base_->preallocate(size); }
    uint64_t position() const override { return base_->position(); }
    void seek(uint64_t position) override { base_->seek(position); }
    Status close() override { return base_->close(); }

   private:
    FaultEnv& env_;
    std::string path_;
    std::unique_ptr<WritableFile> base_;
  };

  Env& base_;
  std::atomic<int> syncs_{0};
  std::atomic<int> writes_{0};
  std::atomic<int> renames_{0};
  Fault sync_fault_;
  Fault write_fault_;
  Fault short_write_fault_;
  Fault rename_fault_;
  std::mutex hook_mutex_;
  std::function<void()> sync_hook_;
};

}  // namespace roster::fakes
