#include "agent/config/node_id.h"

#include "common/uuid.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace roster::config {
namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }


Status write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::internal(errno_text());
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

// The rename is only durable once the directory entry is on disk too.
void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

Status write_atomically(const std::string& dir, const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::internal("cannot create " + temp + ": " + errno_text());
  Status written = write_all(fd, content);
  if (written.is_ok() && ::fsync(fd) != 0) written = Status::internal(errno_text());
  ::close(fd);
  if (!written.is_ok()) {
    ::unlink(temp.c_str());
    return Status::internal("cannot write " + temp + ": " + written.message());
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status status = Status::internal("cannot rename " + temp + " to " + path + ": " + errno_text());
    ::unlink(temp.c_str());
    return status;
  }
  fsync_dir(dir);
  return Status::ok();
}

}  // namespace

Result<std::string> load_or_create_node_id(const std::string& data_dir) {
  if (data_dir.empty()) return Status::invalid_argument("no data dir to keep the node ID in");
  const std::string path = (fs::path(data_dir) / kNodeIdFileName).string();

  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::ifstream in(path);
    if (!in) return Status::internal("cannot read node ID file " + path + ": " + errno_text());
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
    text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
    text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
    if (!is_uuid(text)) {
      std::string shown = text.size() > 40 ? text.substr(0, 40) + "..." : text;
      return Status::invalid_argument("node ID file " + path + " is corrupt (it holds \"" + shown +
                                      "\", not a UUID). Delete it and restart the agent to make a new node "
                                      "ID; the node will join as a new node");
    }
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
  }
  if (ec) return Status::internal("cannot check node ID file " + path + ": " + ec.message());

  fs::create_directories(data_dir, ec);
  if (ec) return Status::internal("cannot create data dir " + data_dir + ": " + ec.message());
  const std::string id = generate_uuid_v4();
  if (Status status = write_atomically(data_dir, path, id + "\n"); !status.is_ok()) return status;
  return id;
}

}  // namespace roster::config
