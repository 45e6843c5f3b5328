#include "agent/gossip/persisted_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/gossip/wire/codec.h"

namespace roster::gossip {
namespace {

Result<std::optional<std::string>> read_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::internal("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::optional<std::string>(buffer.str());
}

// Write to a temporary file, fsync, rename: a crash leaves the old file or the new one.
Status write_atomically(const std::string& path, const std::string& contents, mode_t mode) {
  const std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::internal("cannot write " + temporary + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      return Status::internal("cannot write " + temporary + ": " + std::strerror(saved));
    }
    written += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::internal("cannot write " + temporary + ": " + std::strerror(errno));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return Status::internal("cannot rename " + temporary + ": " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace

Result<std::optional<wire::Keyring>> load_keyring_file(const std::string& path) {
  auto text = read_file(path);
  if (!text.is_ok()) return text.status();
  if (!text->has_value()) return std::optional<wire::Keyring>();
  auto document = nlohmann::json::parse(**text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_array() || document.empty()) {
    return Status::invalid_argument(path + " is not a JSON list of base64 keys");
  }
  wire::Keyring keyring;
  for (const auto& entry : document) {
    if (!entry.is_string()) return Status::invalid_argument(path + " is not a JSON list of base64 keys");
    auto key = wire::decode_key(entry.get<std::string>());
    if (!key.is_ok()) return Status::invalid_argument(path + ": " + key.status().message());
    if (Status installed = keyring.install(*key); !installed.is_ok()) return installed;
  }
  return std::optional<wire::Keyring>(std::move(keyring));
}

Status save_keyring_file(const std::string& path, const wire::Keyring& keyring) {
  nlohmann::json document = nlohmann::json::array();
  for (const std::string& key : keyring.list()) document.push_back(wire::encode_key(key));
  return write_atomically(path, document.dump() + "\n", 0600);
}

Result<std::optional<PeerSnapshot>> load_peer_snapshot(const std::string& path) {
  auto text = read_file(path);
  if (!text.is_ok()) return text.status();
  if (!text->has_value()) return std::optional<PeerSnapshot>();
  auto document = nlohmann::json::parse(**text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return Status::invalid_argument(path + " is not a JSON object");
  PeerSnapshot snapshot;
  if (auto it = document.find("incarnation"); it != document.end()) {
    if (!it->is_number_unsigned()) return Status::invalid_argument(path + ": incarnation is not a number");
    snapshot.incarnation = it->get<Incarnation>();
  }
  if (auto it = document.find("peers"); it != document.end()) {
    if (!it->is_array()) return Status::invalid_argument(path + ": peers is not a list");
    for (const auto& peer : *it) {
      if (peer.is_string() && wire::is_ip_port(peer.get<std::string>())) snapshot.peers.push_back(peer.get<std::string>());
    }
  }
  return std::optional<PeerSnapshot>(std::move(snapshot));
}

Status save_peer_snapshot(const std::string& path, const PeerSnapshot& snapshot) {
  nlohmann::json document{{"incarnation", snapshot.incarnation}, {"peers", snapshot.peers}};
  return write_atomically(path, document.dump(2) + "\n", 0644);
}

}  // namespace roster::gossip
