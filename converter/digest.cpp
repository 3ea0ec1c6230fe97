#include "converter/digest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include <openssl/evp.h>

namespace rehost {

namespace {

std::string hex(const unsigned char* bytes, unsigned int size)
{
  static const char* k_digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += k_digits[bytes[i] >> 4];
    out += k_digits[bytes[i] & 15];
  }
  return out;
}

using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

} // namespace

std::string sha256_hex(const std::string& data)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return hex(digest, size);
}

Result<std::string> sha256_file(const std::string& path)
{
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  Context ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::unique_ptr<char[]> buffer(new char[1 << 20]);
  while (true) {
    ssize_t got = read(fd, buffer.get(), 1 << 20);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      int saved = errno;
      close(fd);
      return fail("{}: {}", path, std::strerror(saved));
    }
    if (got == 0) {
      break;
    }
    EVP_DigestUpdate(ctx.get(), buffer.get(), static_cast<size_t>(got));
  }
  close(fd);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &size);
  return hex(digest, size);
}

} // namespace rehost
