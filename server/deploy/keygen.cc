#include "server/deploy/keygen.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/ed25519.h"

namespace roster::deploy {
namespace {

constexpr const char* kUsage = "Usage: roster-deploy keygen -out FILE [-force]\n";

void print_help(std::ostream& out) {
  out << kUsage
      << "\n"
         "Makes the Ed25519 key that signs deploy bundles. Agents run a bundle only if it is\n"
         "signed by a key listed in their exec.trusted_keys.\n"
         "\n"
         "    -out FILE   where to write the private key (PEM, mode 0600); the public key goes\n"
         "                to FILE.pub as base64. Keep FILE on the deploy server only.\n"
         "    -force      replace FILE and FILE.pub if they exist (agents that trust the old\n"
         "                key will refuse bundles signed with the new one)\n"
         "\n"
         "Prints the public key and the agent config that trusts it.\n";
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

// The public key is not secret, but it is replaced the same way as the
// private key: whole or not at all.
bool write_public_key(const std::string& path, const std::string& text, std::ostream& err) {
  const std::string temporary = path + ".tmp";
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    err << "roster-deploy keygen: cannot create " << temporary << ": " << std::strerror(errno) << "\n";
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    err << "roster-deploy keygen: cannot write " << path << ": " << std::strerror(errno) << "\n";
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace

int run_keygen(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string path;
  bool force = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-help" || arg == "--help" || arg == "-h") {
      print_help(out);
      return 0;
    }
    if (arg == "-force" || arg == "--force") {
      force = true;
    } else if (arg == "-out" || arg == "--out") {
      if (i + 1 == args.size()) {
        err << "roster-deploy keygen: -out needs a file name\n" << kUsage;
        return 2;
      }
      path = args[++i];
    } else if (arg.rfind("-out=", 0) == 0 || arg.rfind("--out=", 0) == 0) {
      path = arg.substr(arg.find('=') + 1);
    } else {
      err << "roster-deploy keygen: unknown argument \"" << arg << "\"\n" << kUsage;
      return 2;
    }
  }
  if (path.empty()) {
    err << "roster-deploy keygen: -out FILE is required\n" << kUsage;
    return 2;
  }
  const std::string public_path = path + ".pub";
  if (!force) {
    for (const std::string& existing : {path, public_path}) {
      if (exists(existing)) {
        err << "roster-deploy keygen: " << existing
            << " already exists; not replacing a signing key (pass -force to replace it)\n";
        return 1;
      }
    }
  }

  Result<SigningKey> key = SigningKey::generate();
  if (!key.is_ok()) {
    err << "roster-deploy keygen: " << key.status().message() << "\n";
    return 1;
  }
  Status saved = key->save(path, force);
  if (!saved.is_ok()) {
    err << "roster-deploy keygen: " << saved.message() << "\n";
    return 1;
  }
  const std::string public_key = key->public_key_base64();
  if (!write_public_key(public_path, public_key + "\n", err)) return 1;

  out << "Wrote the private key to " << path << " (keep it on the deploy server) and the public key to "
      << public_path << ".\n"
      << "Public key: " << public_key << "\n"
      << "\n"
      << "To let an agent run bundles signed with this key, add to its config:\n"
      << "\n"
      << "exec:\n"
      << "  enabled: true\n"
      << "  trusted_keys: [\"" << public_key << "\"]\n";
  return 0;
}

}  // namespace roster::deploy
