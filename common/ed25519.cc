#include "common/ed25519.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/base64.h"

namespace roster {
namespace {

constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using PkeyPointer = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdContextPointer = std::unique_ptr<EVP_MD_CTX, MdContextDeleter>;
using BioPointer = std::unique_ptr<BIO, BioDeleter>;

const unsigned char* bytes_of(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

std::string system_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Writes the whole buffer, fsyncs and closes; the descriptor is closed on
// every path.
Status write_and_sync(int fd, const std::string& path, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written < 0) {
      if (errno == EINTR) continue;
      Status status = Status::internal(system_error("cannot write", path));
      ::close(fd);
      return status;
    }
    done += static_cast<size_t>(written);
  }
  if (::fsync(fd) != 0) {
    Status status = Status::internal(system_error("cannot fsync", path));
    ::close(fd);
    return status;
  }
  if (::close(fd) != 0) return Status::internal(system_error("cannot close", path));
  return Status::ok();
}

Status sync_parent_directory(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::internal(system_error("cannot open directory", directory));
  int result = ::fsync(fd);
  Status status = result == 0 ? Status::ok() : Status::internal(system_error("cannot fsync directory", directory));
  ::close(fd);
  return status;
}

}  // namespace

struct SigningKey::Impl {
  PkeyPointer key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

Result<SigningKey> SigningKey::generate() {
  PkeyPointer key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Status::internal("OpenSSL could not generate an Ed25519 key");
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return SigningKey(std::move(impl));
}

Result<SigningKey> SigningKey::load(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 && errno == ENOENT) return Status::not_found("no signing key file " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::invalid_argument("cannot read signing key file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  BioPointer bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::internal("OpenSSL could not allocate a buffer");
  PkeyPointer key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return Status::invalid_argument(path + " is not a PEM Ed25519 private key (make one with `roster-deploy keygen`)");
  }
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return SigningKey(std::move(impl));
}

Status SigningKey::save(const std::string& path, bool overwrite) const {
  BioPointer bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::internal("OpenSSL could not encode the private key");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  const std::string_view pem(data, static_cast<size_t>(length));

  if (!overwrite && ::access(path.c_str(), F_OK) == 0) {
    return Status::conflict(path + " already exists; not overwriting a signing key");
  }
  // The key is complete on disk before its name appears: a crash leaves the
  // old key or the new one. O_EXCL with mode 0600 means the bytes are never
  // readable by others, whatever the umask.
  const std::string temporary = path + ".tmp";
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::internal(system_error("cannot create", temporary));
  Status written = write_and_sync(fd, temporary, pem);
  if (!written.is_ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  if (overwrite) {
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
      Status status = Status::internal(system_error("cannot rename " + temporary + " to", path));
      ::unlink(temporary.c_str());
      return status;
    }
  } else {
    // link() fails if `path` appeared since the check above: never replace a
    // key that someone else just wrote.
    if (::link(temporary.c_str(), path.c_str()) != 0) {
      Status status = errno == EEXIST ? Status::conflict(path + " already exists; not overwriting a signing key")
                                      : Status::internal(system_error("cannot create", path));
      ::unlink(temporary.c_str());
      return status;
    }
    ::unlink(temporary.c_str());
  }
  return sync_parent_directory(path);
}

std::string SigningKey::public_key_raw() const {
  std::string raw(kPublicKeyBytes, '\0');
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(impl_->key.get(), reinterpret_cast<unsigned char*>(raw.data()), &length) != 1) {
    return {};
  }
  raw.resize(length);
  return raw;
}

std::string SigningKey::public_key_base64() const { return base64_encode(public_key_raw()); }

std::string SigningKey::sign(std::string_view message) const {
  MdContextPointer context(EVP_MD_CTX_new());
  std::string signature(kSignatureBytes, '\0');
  size_t length = signature.size();
  // Ed25519 hashes internally: the digest is NULL and the message is signed in one call.
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes_of(message),
                     message.size()) != 1) {
    return {};
  }
  signature.resize(length);
  return signature;
}

bool verify_ed25519(std::string_view public_key_raw, std::string_view message, std::string_view signature) {
  if (public_key_raw.size() != kPublicKeyBytes || signature.size() != kSignatureBytes) return false;
  PkeyPointer key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(public_key_raw), kPublicKeyBytes));
  if (!key) return false;
  MdContextPointer context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(context.get(), bytes_of(signature), signature.size(), bytes_of(message), message.size()) == 1;
}

Result<std::string> decode_public_key(std::string_view base64) {
  Result<std::string> raw = base64_decode(base64);
  if (!raw.is_ok()) {
    return Status::invalid_argument("public key \"" + std::string(base64) + "\" is not base64: " +
                                    raw.status().message());
  }
  if (raw->size() != kPublicKeyBytes) {
    return Status::invalid_argument("public key \"" + std::string(base64) + "\" is " + std::to_string(raw->size()) +
                                    " bytes; an Ed25519 public key is 32");
  }
  return std::move(*raw);
}

}  // namespace roster
