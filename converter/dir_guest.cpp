#include "converter/dir_guest.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace rehost {

namespace {

// Guest path without its leading slashes, "." for the root.
std::string relative(const std::string& path)
{
  size_t start = path.find_first_not_of('/');
  return start == std::string::npos ? std::string(".") : path.substr(start);
}

FileInfo info_from(const struct stat& st)
{
  FileInfo info;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mode = st.st_mode & 07777;
  if (S_ISREG(st.st_mode)) {
    info.type = FileType::regular;
  } else if (S_ISDIR(st.st_mode)) {
    info.type = FileType::directory;
  } else if (S_ISLNK(st.st_mode)) {
    info.type = FileType::symlink;
  } else {
    info.type = FileType::other;
  }
  return info;
}

class Fd {
public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd()
  {
    if (m_fd >= 0) {
      close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }

private:
  int m_fd;
};

} // namespace

Result<std::unique_ptr<DirGuest>> DirGuest::open(const std::string& root)
{
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return fail("{}: {}", root, std::strerror(errno));
  }
  return std::unique_ptr<DirGuest>(new DirGuest(root, fd));
}

DirGuest::~DirGuest()
{
  close(m_root_fd);
}

std::string DirGuest::describe() const
{
  return m_description.empty() ? "directory " + m_root : m_description;
}

void DirGuest::set_runner(Runner runner, std::string description)
{
  m_runner = std::move(runner);
  m_description = std::move(description);
}

int DirGuest::open_in_root(const std::string& path, int flags, bool follow_last) const
{
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW));
  how.mode = (flags & O_CREAT) ? 0600 : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = relative(path);
  long fd = syscall(SYS_openat2, m_root_fd, rel.c_str(), &how, sizeof how);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

Result<std::pair<int, std::string>> DirGuest::open_parent(const std::string& path) const
{
  std::string rel = relative(path);
  while (rel.size() > 1 && rel.back() == '/') {
    rel.pop_back();
  }
  if (rel == ".") {
    return fail("{}: the guest root has no parent", path);
  }
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (name == ".." || name == ".") {
    return fail("{}: not a file name", path);
  }
  int fd = open_in_root(parent, O_PATH | O_DIRECTORY);
  if (fd < 0) {
    return fail("{}: {}", path, std::strerror(-fd));
  }
  return std::make_pair(fd, name);
}

Result<FileInfo> DirGuest::lstat(const std::string& path)
{
  if (relative(path) == ".") {
    return stat(path);
  }
  auto parent = open_parent(path);
  if (!parent) {
    return FileInfo{}; // a missing parent means a missing file
  }
  Fd dir(parent->first);
  struct stat st;
  if (fstatat(dir.get(), parent->second.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return FileInfo{};
    }
    return fail("{}: {}", path, std::strerror(errno));
  }
  return info_from(st);
}

Result<FileInfo> DirGuest::stat(const std::string& path)
{
  int fd = open_in_root(path, O_PATH);
  if (fd < 0) {
    if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP) {
      return FileInfo{};
    }
    return fail("{}: {}", path, std::strerror(-fd));
  }
  Fd file(fd);
  struct stat st;
  if (fstat(file.get(), &st) != 0) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  return info_from(st);
}

Result<std::string> DirGuest::read_file(const std::string& path, size_t limit)
{
  // O_PATH first, so a FIFO or device is never opened for reading (it could block or be
  // endless).
  int pfd = open_in_root(path, O_PATH);
  if (pfd < 0) {
    return fail("{}: {}", path, std::strerror(-pfd));
  }
  Fd probe(pfd);
  struct stat st;
  if (fstat(probe.get(), &st) != 0) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail("{}: not a regular file", path);
  }
  if (static_cast<uint64_t>(st.st_size) > limit) {
    return fail("{}: larger than {} bytes ({} bytes)", path, limit, st.st_size);
  }
  int fd = open_in_root(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) {
    return fail("{}: {}", path, std::strerror(-fd));
  }
  Fd file(fd);
  std::string content;
  char buffer[65536];
  while (true) {
    ssize_t got = ::read(file.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("{}: {}", path, std::strerror(errno));
    }
    if (got == 0) {
      break;
    }
    if (content.size() + static_cast<size_t>(got) > limit) {
      return fail("{}: larger than {} bytes", path, limit);
    }
    content.append(buffer, static_cast<size_t>(got));
  }
  return content;
}

Result<std::string> DirGuest::read_head(const std::string& path, size_t size)
{
  int pfd = open_in_root(path, O_PATH);
  if (pfd < 0) {
    return fail("{}: {}", path, std::strerror(-pfd));
  }
  Fd probe(pfd);
  struct stat st;
  if (fstat(probe.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail("{}: not a regular file", path);
  }
  int fd = open_in_root(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) {
    return fail("{}: {}", path, std::strerror(-fd));
  }
  Fd file(fd);
  std::string content(size, '\0');
  ssize_t got = pread(file.get(), content.data(), size, 0);
  if (got < 0) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  content.resize(static_cast<size_t>(got));
  return content;
}

Result<void> DirGuest::write_file(const std::string& path, const std::string& content,
                                  uint32_t mode)
{
  auto parent = open_parent(path);
  if (!parent) {
    return std::unexpected(parent.error());
  }
  Fd dir(parent->first);
  const std::string& name = parent->second;
  // Keep the mode of an existing regular file.
  struct stat st;
  if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
    mode = st.st_mode & 07777;
  }
  std::string temp = fmt::format(".{}.rehost-{}", name, getpid());
  int fd =
      openat(dir.get(), temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  {
    Fd file(fd);
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(file.get(), content.data() + done, content.size() - done);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        int saved = errno;
        unlinkat(dir.get(), temp.c_str(), 0);
        return fail("{}: {}", path, std::strerror(saved));
      }
      done += static_cast<size_t>(n);
    }
    fchmod(file.get(), mode);
  }
  // Replaces a link itself, never the file it points at.
  if (renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) {
    int saved = errno;
    unlinkat(dir.get(), temp.c_str(), 0);
    return fail("{}: {}", path, std::strerror(saved));
  }
  return {};
}

Result<std::vector<std::string>> DirGuest::list_dir(const std::string& path)
{
  int fd = open_in_root(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    return fail("{}: {}", path, std::strerror(-fd));
  }
  DIR* dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return fail("{}: {}", path, std::strerror(errno));
  }
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      names.push_back(std::move(name));
    }
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> DirGuest::read_link(const std::string& path)
{
  auto parent = open_parent(path);
  if (!parent) {
    return std::unexpected(parent.error());
  }
  Fd dir(parent->first);
  char buffer[4096];
  ssize_t n = readlinkat(dir.get(), parent->second.c_str(), buffer, sizeof buffer);
  if (n < 0) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  return std::string(buffer, static_cast<size_t>(n));
}

Result<void> DirGuest::remove(const std::string& path)
{
  auto parent = open_parent(path);
  if (!parent) {
    return {};
  }
  Fd dir(parent->first);
  if (unlinkat(dir.get(), parent->second.c_str(), 0) != 0 && errno != ENOENT) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  return {};
}

Result<void> DirGuest::remove_dir(const std::string& path)
{
  auto parent = open_parent(path);
  if (!parent) {
    return {};
  }
  Fd dir(parent->first);
  if (unlinkat(dir.get(), parent->second.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  return {};
}

Result<void> DirGuest::make_symlink(const std::string& target, const std::string& path)
{
  auto parent = open_parent(path);
  if (!parent) {
    return std::unexpected(parent.error());
  }
  Fd dir(parent->first);
  const std::string& name = parent->second;
  std::string temp = fmt::format(".{}.rehost-{}", name, getpid());
  unlinkat(dir.get(), temp.c_str(), 0);
  if (symlinkat(target.c_str(), dir.get(), temp.c_str()) != 0
      || renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) {
    int saved = errno;
    unlinkat(dir.get(), temp.c_str(), 0);
    return fail("{}: {}", path, std::strerror(saved));
  }
  return {};
}

Result<void> DirGuest::rename(const std::string& from, const std::string& to)
{
  auto from_parent = open_parent(from);
  if (!from_parent) {
    return std::unexpected(from_parent.error());
  }
  Fd from_dir(from_parent->first);
  auto to_parent = open_parent(to);
  if (!to_parent) {
    return std::unexpected(to_parent.error());
  }
  Fd to_dir(to_parent->first);
  if (renameat(from_dir.get(), from_parent->second.c_str(), to_dir.get(), to_parent->second.c_str())
      != 0) {
    return fail("rename {} to {}: {}", from, to, std::strerror(errno));
  }
  return {};
}

Result<SpaceInfo> DirGuest::free_space(const std::string& path)
{
  int fd = open_in_root(path, O_PATH);
  if (fd < 0) {
    return fail("{}: {}", path, std::strerror(-fd));
  }
  Fd file(fd);
  struct statvfs st;
  if (fstatvfs(file.get(), &st) != 0) {
    return fail("{}: {}", path, std::strerror(errno));
  }
  return SpaceInfo{static_cast<uint64_t>(st.f_bfree) * st.f_frsize, st.f_ffree};
}

Result<void> DirGuest::copy(const std::string& from, const std::string& to)
{
  auto info = stat(from);
  if (!info) {
    return std::unexpected(info.error());
  }
  if (info->type != FileType::regular) {
    return fail("{}: not a regular file", from);
  }
  auto content = read_file(from, SIZE_MAX);
  if (!content) {
    return std::unexpected(content.error());
  }
  return write_file(to, *content, info->mode);
}

Result<void> DirGuest::make_dirs(const std::string& path)
{
  std::string rel = relative(path);
  if (rel == ".") {
    return {};
  }
  std::string sofar;
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) {
      end = rel.size();
    }
    std::string part = rel.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") {
      continue;
    }
    std::string parent = sofar.empty() ? "." : sofar;
    sofar = sofar.empty() ? part : sofar + "/" + part;
    int pfd = open_in_root(parent, O_PATH | O_DIRECTORY);
    if (pfd < 0) {
      return fail("{}: {}", path, std::strerror(-pfd));
    }
    Fd dir(pfd);
    if (mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      return fail("{}: {}", path, std::strerror(errno));
    }
  }
  return {};
}

Result<void> DirGuest::download(const std::string& path, const std::string& host_path)
{
  int pfd = open_in_root(path, O_PATH);
  if (pfd < 0) {
    return fail("{}: {}", path, std::strerror(-pfd));
  }
  {
    Fd probe(pfd);
    struct stat st;
    if (fstat(probe.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return fail("{}: not a regular file", path);
    }
  }
  int fd = open_in_root(path, O_RDONLY);
  if (fd < 0) {
    return fail("{}: {}", path, std::strerror(-fd));
  }
  Fd in(fd);
  int ofd = ::open(host_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (ofd < 0) {
    return fail("{}: {}", host_path, std::strerror(errno));
  }
  Fd out(ofd);
  char buffer[1 << 16];
  while (true) {
    ssize_t got = ::read(in.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return fail("{}: {}", path, std::strerror(errno));
    }
    if (got == 0) {
      break;
    }
    if (::write(out.get(), buffer, static_cast<size_t>(got)) != got) {
      return fail("{}: {}", host_path, std::strerror(errno));
    }
  }
  return {};
}

Result<CommandResult> DirGuest::run(const std::vector<std::string>& argv,
                                    std::chrono::seconds timeout)
{
  if (m_runner) {
    return m_runner(argv, timeout);
  }
  return fail("cannot run {} in {}: running guest programs needs a disk image",
              argv.empty() ? std::string("a program") : argv[0], describe());
}

} // namespace rehost
