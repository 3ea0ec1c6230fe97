#include "converter/snapshot.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "converter/interrupt.hpp"
#include "converter/process.hpp"

namespace rehost {

namespace fs = std::filesystem;

namespace {

constexpr size_t k_chunk = 1 << 20;
constexpr size_t k_block = 4096;
constexpr int k_copy_attempts = 3;
constexpr auto k_lock_wait = std::chrono::minutes(5);

// A file descriptor closed when it goes out of scope.
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

bool all_zero(const char* data, size_t size)
{
  static const std::array<char, k_block> zeros{};
  return std::memcmp(data, zeros.data(), size) == 0;
}

Result<void> write_all(int out, const char* data, size_t size, off_t offset, const std::string& to)
{
  while (size > 0) {
    ssize_t n = pwrite(out, data, size, offset);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return fail("{}: cannot write: {}", to, std::strerror(n < 0 ? errno : EIO));
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return {};
}

// Copies [offset, offset + length) by reading and writing, leaving zero blocks as holes (the
// output was sized with ftruncate, so unwritten ranges read as zeros).
Result<void> copy_range_rw(int in, int out, off_t offset, off_t length, const std::string& from,
                           const std::string& to)
{
  std::vector<char> buffer(k_chunk);
  while (length > 0) {
    if (interrupt::requested()) {
      return fail("{}: copy interrupted", to);
    }
    size_t want = static_cast<size_t>(std::min<off_t>(length, k_chunk));
    ssize_t got = pread(in, buffer.data(), want, offset);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return fail("{}: cannot read: {}", from, std::strerror(errno));
    }
    if (got == 0) {
      return fail("{}: ended at byte {} while being copied (truncated meanwhile?)", from, offset);
    }
    size_t size = static_cast<size_t>(got);
    size_t pos = 0;
    while (pos < size) {
      size_t block = std::min(k_block, size - pos);
      if (all_zero(buffer.data() + pos, block)) {
        pos += block;
        continue;
      }
      size_t start = pos;
      while (pos < size && !all_zero(buffer.data() + pos, std::min(k_block, size - pos))) {
        pos += std::min(k_block, size - pos);
      }
      if (auto r = write_all(out, buffer.data() + start, pos - start, offset + start, to); !r) {
        return r;
      }
    }
    offset += got;
    length -= got;
  }
  return {};
}

// Copies a data range in the kernel (copy_file_range), falling back to read/write where the
// kernel or file systems refuse; `kernel_copy` remembers a refusal for the next ranges.
Result<void> copy_range(int in, int out, off_t offset, off_t length, bool& kernel_copy,
                        const std::string& from, const std::string& to)
{
  while (length > 0 && kernel_copy) {
    if (interrupt::requested()) {
      return fail("{}: copy interrupted", to);
    }
    loff_t in_offset = offset;
    loff_t out_offset = offset;
    size_t step = static_cast<size_t>(std::min<off_t>(length, 64 * k_chunk));
    ssize_t n = copy_file_range(in, &in_offset, out, &out_offset, step, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
      kernel_copy = false;
      break;
    }
    if (n < 0) {
      return fail("{}: cannot copy {}: {}", to, from, std::strerror(errno));
    }
    if (n == 0) {
      return fail("{}: ended at byte {} while being copied (truncated meanwhile?)", from, offset);
    }
    offset += n;
    length -= n;
  }
  if (length > 0) {
    return copy_range_rw(in, out, offset, length, from, to);
  }
  return {};
}

// The sparse copy of an open file of `size` bytes into an open, empty file.
Result<void> sparse_copy_fd(int in, int out, off_t size, const std::string& from,
                            const std::string& to)
{
  if (ftruncate(out, size) != 0) {
    return fail("{}: cannot size the copy: {}", to, std::strerror(errno));
  }
  bool kernel_copy = true;
  off_t pos = 0;
  while (pos < size) {
    off_t data = lseek(in, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) {
      break; // only a hole is left
    }
    if (data < 0) {
      // No SEEK_DATA here: read everything, zero blocks still become holes.
      return copy_range_rw(in, out, pos, size - pos, from, to);
    }
    if (data >= size) {
      break;
    }
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0 || hole > size) {
      hole = size;
    }
    if (auto r = copy_range(in, out, data, hole - data, kernel_copy, from, to); !r) {
      return r;
    }
    pos = hole;
  }
  if (fdatasync(out) != 0) {
    return fail("{}: cannot flush the copy: {}", to, std::strerror(errno));
  }
  return {};
}

Result<int> create_new(const std::string& path)
{
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail("{}: cannot create: {}", path, std::strerror(errno));
  }
  return fd;
}

// Takes a shared flock on the replica, waiting for a replicator that holds an exclusive one.
Result<void> lock_shared(int fd, const std::string& path)
{
  auto deadline = std::chrono::steady_clock::now() + k_lock_wait;
  while (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return {}; // no flock on this file system: nothing to coordinate with
    }
    if (std::chrono::steady_clock::now() > deadline || interrupt::requested()) {
      return fail("replica {}: its replicator has held it locked (flock) for more than 5 minutes; "
                  "launch again when replication lets go",
                  path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return {};
}

bool same_version(const struct stat& a, const struct stat& b)
{
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec
         && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ino == b.st_ino;
}

uint64_t allocated_bytes(const std::string& path)
{
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

Result<ProcessResult> run_tool(const std::vector<std::string>& argv)
{
  ProcessOptions options;
  options.timeout = std::chrono::minutes(5);
  return run_process(argv, options);
}

std::string trim(std::string text)
{
  text.erase(0, text.find_first_not_of(" \t\n"));
  text.erase(text.find_last_not_of(" \t\n") + 1);
  return text;
}

// What qemu says about an image file: its format, backing file and extent files.
struct ImageFacts {
  std::string format;
  std::string backing;        // as written in the image (may be relative)
  std::string backing_format; // of the first backing file
  std::vector<std::string> extents;
};

Result<ImageFacts> image_facts(const std::string& path)
{
  std::vector<std::string> argv = {"qemu-img",        "info", "-U", "--output=json",
                                   "--backing-chain", path};
  auto r = run_tool(argv);
  if (!r) {
    return fail("cannot run qemu-img: {} (is qemu-utils installed?)", r.error().message);
  }
  if (!r->ok()) {
    return fail("replica {}: not a readable disk image: {}", path, describe_failure(argv, *r));
  }
  ImageFacts facts;
  try {
    auto chain = nlohmann::json::parse(r->out);
    const auto& top = chain.at(0);
    facts.format = top.at("format").get<std::string>();
    facts.backing = top.value("backing-filename", "");
    if (chain.size() > 1) {
      facts.backing_format = chain.at(1).value("format", "");
    }
    if (top.contains("format-specific") && top["format-specific"].contains("data")) {
      for (const auto& e :
           top["format-specific"]["data"].value("extents", nlohmann::json::array())) {
        facts.extents.push_back(e.value("filename", ""));
      }
    }
  } catch (const std::exception&) {
    return fail("replica {}: qemu-img could not describe it", path);
  }
  return facts;
}

// A copy of a qcow2 in another directory must name its backing file by an absolute path.
Result<void> fix_relative_backing(const std::string& copy, const std::string& original,
                                  const ImageFacts& facts)
{
  if (facts.backing.empty() || fs::path(facts.backing).is_absolute()
      || facts.backing.find(':') != std::string::npos) {
    return {};
  }
  std::string absolute =
      (fs::path(original).parent_path() / facts.backing).lexically_normal().string();
  std::vector<std::string> argv = {"qemu-img", "rebase", "-u", "-f", facts.format, "-b", absolute};
  if (!facts.backing_format.empty()) {
    argv.insert(argv.end(), {"-F", facts.backing_format});
  }
  argv.push_back(copy);
  auto r = run_tool(argv);
  if (!r || !r->ok()) {
    return fail("{}: cannot point the copy at the backing file {}: {}", copy, absolute,
                r ? describe_failure(argv, *r) : r.error().message);
  }
  return {};
}

// A sparse copy that is checked not to have raced with the replicator.
Result<void> consistent_copy(const std::string& volume, const std::string& to)
{
  for (int attempt = 1; attempt <= k_copy_attempts; ++attempt) {
    Fd in(::open(volume.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) {
      return fail("replica {}: cannot read it: {}", volume, std::strerror(errno));
    }
    if (auto r = lock_shared(in.get(), volume); !r) {
      return r;
    }
    struct stat before;
    fstat(in.get(), &before);
    auto out_fd = create_new(to);
    if (!out_fd) {
      return std::unexpected(out_fd.error());
    }
    Fd out(*out_fd);
    auto copied = sparse_copy_fd(in.get(), out.get(), before.st_size, volume, to);
    struct stat after;
    bool unchanged = ::stat(volume.c_str(), &after) == 0 && same_version(before, after);
    if (copied && unchanged) {
      return {};
    }
    unlink(to.c_str());
    if (!copied) {
      return copied;
    }
  }
  return fail("replica {}: it changed during each of {} copies, so no copy is consistent; pause "
              "its replication during launches, or put the state directory on the replica's file "
              "system if that one has reflinks (btrfs, XFS)",
              volume, k_copy_attempts);
}

std::optional<LogicalVolume> logical_volume(const std::string& device)
{
  if (!have_program("lvs")) {
    return std::nullopt;
  }
  auto r = run_tool(
      {"lvs", "--noheadings", "--separator", "|", "-o", "vg_name,lv_name,segtype", device});
  if (!r || !r->ok()) {
    return std::nullopt;
  }
  std::string line = trim(r->out);
  size_t a = line.find('|');
  size_t b = line.find('|', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos) {
    return std::nullopt;
  }
  return LogicalVolume{line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)};
}

Result<Snapshot> lvm_snapshot(const std::string& volume, const LogicalVolume& origin,
                              const std::string& name)
{
  const std::string snap = "rehost-" + name;
  std::vector<std::string> argv = lvcreate_snapshot_command(origin, snap);
  auto r = run_tool(argv);
  if (!r || !r->ok()) {
    return fail("replica {}: cannot make an LVM snapshot of {}/{}: {}; free space in volume group "
                "{} (a snapshot needs as much as the volume)",
                volume, origin.vg, origin.lv, r ? describe_failure(argv, *r) : r.error().message,
                origin.vg);
  }
  Snapshot s;
  s.method = SnapshotMethod::lvm_snapshot;
  auto path = run_tool({"lvs", "--noheadings", "-o", "lv_path", origin.vg + "/" + snap});
  s.path = path && path->ok() ? trim(path->out) : "/dev/" + origin.vg + "/" + snap;
  return s;
}

Result<Snapshot> device_copy(const std::string& volume, const std::string& to)
{
  Fd in(::open(volume.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    return fail("replica {}: cannot read it: {}", volume, std::strerror(errno));
  }
  uint64_t size = 0;
  if (ioctl(in.get(), BLKGETSIZE64, &size) != 0) {
    return fail("replica {}: cannot get its size: {}", volume, std::strerror(errno));
  }
  auto out_fd = create_new(to);
  if (!out_fd) {
    return std::unexpected(out_fd.error());
  }
  Fd out(*out_fd);
  if (ftruncate(out.get(), static_cast<off_t>(size)) != 0) {
    unlink(to.c_str());
    return fail("{}: cannot size the copy: {}", to, std::strerror(errno));
  }
  auto r = copy_range_rw(in.get(), out.get(), 0, static_cast<off_t>(size), volume, to);
  if (r && fdatasync(out.get()) != 0) {
    r = fail("{}: cannot flush the copy: {}", to, std::strerror(errno));
  }
  if (!r) {
    unlink(to.c_str());
    return std::unexpected(r.error());
  }
  Snapshot s;
  s.path = to;
  s.method = SnapshotMethod::device_copy;
  s.allocated_bytes = allocated_bytes(to);
  s.warning = fmt::format("{} is a block device without a snapshot layer (not an LVM volume): it "
                          "was copied, which is consistent only if nothing wrote to it meanwhile",
                          volume);
  return s;
}

} // namespace

std::string to_token(SnapshotMethod method)
{
  switch (method) {
  case SnapshotMethod::reflink:
    return "reflink";
  case SnapshotMethod::sparse_copy:
    return "sparse-copy";
  case SnapshotMethod::lvm_snapshot:
    return "lvm-snapshot";
  case SnapshotMethod::device_copy:
    return "device-copy";
  }
  return "unknown";
}

std::vector<std::string> lvcreate_snapshot_command(const LogicalVolume& origin,
                                                   const std::string& snapshot_name)
{
  std::vector<std::string> argv = {"lvcreate", "-qq", "--snapshot", "--name", snapshot_name};
  if (origin.segtype == "thin") {
    argv.insert(argv.end(), {"--setactivationskip", "n", "--activate", "y"});
  } else {
    argv.insert(argv.end(), {"--extents", "100%ORIGIN"});
  }
  argv.push_back(origin.vg + "/" + origin.lv);
  return argv;
}

std::optional<SnapshotMethod> parse_snapshot_method(const std::string& token)
{
  for (auto m : {SnapshotMethod::reflink, SnapshotMethod::sparse_copy, SnapshotMethod::lvm_snapshot,
                 SnapshotMethod::device_copy}) {
    if (to_token(m) == token) {
      return m;
    }
  }
  return std::nullopt;
}

Result<void> sparse_copy_file(const std::string& from, const std::string& to)
{
  Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    return fail("{}: cannot read: {}", from, std::strerror(errno));
  }
  struct stat st;
  if (fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail("{}: not a regular file", from);
  }
  auto out_fd = create_new(to);
  if (!out_fd) {
    return std::unexpected(out_fd.error());
  }
  Fd out(*out_fd);
  auto r = sparse_copy_fd(in.get(), out.get(), st.st_size, from, to);
  if (!r) {
    unlink(to.c_str());
  }
  return r;
}

Result<SnapshotMethod> clone_file(const std::string& from, const std::string& to)
{
  {
    Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) {
      return fail("{}: cannot read: {}", from, std::strerror(errno));
    }
    auto out_fd = create_new(to);
    if (!out_fd) {
      return std::unexpected(out_fd.error());
    }
    Fd out(*out_fd);
    if (ioctl(out.get(), FICLONE, in.get()) == 0) {
      return SnapshotMethod::reflink;
    }
    int error = errno;
    unlink(to.c_str());
    // Not supported here, or not across these file systems: copy instead. Anything else (no
    // space, I/O error) is a real failure.
    if (error != EOPNOTSUPP && error != ENOTTY && error != EXDEV && error != EINVAL
        && error != ENOSYS && error != EPERM) {
      return fail("{}: cannot clone {}: {}", to, from, std::strerror(error));
    }
  }
  if (auto r = consistent_copy(from, to); !r) {
    return std::unexpected(r.error());
  }
  return SnapshotMethod::sparse_copy;
}

Result<Snapshot> take_snapshot(const std::string& volume, const std::string& staging_dir,
                               const std::string& name)
{
  struct stat st;
  if (::stat(volume.c_str(), &st) != 0) {
    return fail("replica {}: {}; check the volume given to `rehost machines add`", volume,
                std::strerror(errno));
  }
  std::error_code ec;
  fs::create_directories(staging_dir, ec);
  if (ec) {
    return fail("staging area {}: cannot create it: {}", staging_dir, ec.message());
  }
  const std::string to = (fs::path(staging_dir) / name).string();
  if (S_ISBLK(st.st_mode)) {
    if (auto lv = logical_volume(volume)) {
      return lvm_snapshot(volume, *lv, name);
    }
    return device_copy(volume, to);
  }
  if (!S_ISREG(st.st_mode)) {
    return fail("replica {}: not an image file or a block device", volume);
  }
  auto facts = image_facts(volume);
  if (!facts) {
    return std::unexpected(facts.error());
  }
  for (const auto& extent : facts->extents) {
    if (!extent.empty() && fs::path(extent).filename() != fs::path(volume).filename()) {
      return fail(
          "replica {}: a VMDK whose data is in separate extent files ({}); copying it alone "
          "would not be a snapshot: replicate into a raw or qcow2 image",
          volume, extent);
    }
  }
  auto method = clone_file(volume, to);
  if (!method) {
    return std::unexpected(method.error());
  }
  if (auto r = fix_relative_backing(to, volume, *facts); !r) {
    unlink(to.c_str());
    return std::unexpected(r.error());
  }
  Snapshot s;
  s.path = to;
  s.method = *method;
  s.allocated_bytes = allocated_bytes(to);
  return s;
}

Result<void> remove_snapshot(const std::string& path, SnapshotMethod method)
{
  if (path.empty()) {
    return {};
  }
  if (method == SnapshotMethod::lvm_snapshot) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
      return {};
    }
    std::vector<std::string> argv = {"lvremove", "-qq", "-f", path};
    auto r = run_tool(argv);
    if (!r || !r->ok()) {
      return fail("cannot remove the snapshot volume {}: {}; remove it with lvremove", path,
                  r ? describe_failure(argv, *r) : r.error().message);
    }
    return {};
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail("cannot remove the snapshot {}: {}", path, std::strerror(errno));
  }
  return {};
}

} // namespace rehost
