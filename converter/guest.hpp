// The one way to reach a guest's files and run its programs.
//
// Rules, bootloader and driver code see only this interface; they never know whether the guest
// is a directory, a libguestfs appliance or something else. Paths are absolute guest paths
// ("/etc/fstab"). Symbolic links are resolved inside the guest: an implementation never lets a
// guest link lead to a host file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

enum class FileType { missing, regular, directory, symlink, other };

struct FileInfo {
  FileType type = FileType::missing;
  uint64_t size = 0;
  uint32_t mode = 0; // permission bits
};

struct SpaceInfo {
  uint64_t free_bytes = 0; // available to root
  uint64_t free_inodes = 0;
};

struct CommandResult {
  int exit_status = 0;
  std::string out;
  std::string err;
};

// Reading stops with an error beyond this size unless a caller passes a larger limit.
inline constexpr size_t k_default_read_limit = 16 << 20;

class Guest {
public:
  virtual ~Guest() = default;

  // What this guest is ("directory /srv/root", "libguestfs appliance on disk.img").
  virtual std::string describe() const = 0;

  // Information about `path` itself (a final symlink is not followed). A missing file is not
  // an error: its type is FileType::missing.
  virtual Result<FileInfo> lstat(const std::string& path) = 0;

  // Like lstat, but follows links (inside the guest). A dangling link or a link loop gives
  // FileType::missing.
  virtual Result<FileInfo> stat(const std::string& path) = 0;

  // Contents of a regular file, following links inside the guest; an error when it is larger
  // than `limit` bytes, is not a regular file, or cannot be read.
  virtual Result<std::string> read_file(const std::string& path,
                                        size_t limit = k_default_read_limit) = 0;

  // Up to `size` bytes from the start of a regular file (for magic numbers and headers).
  virtual Result<std::string> read_head(const std::string& path, size_t size) = 0;

  // Replaces the file's contents (creating it with `mode` if missing), atomically where the
  // implementation can.
  virtual Result<void> write_file(const std::string& path, const std::string& content,
                                  uint32_t mode = 0644) = 0;

  // Names in a directory, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;

  // Target of a symbolic link, as stored.
  virtual Result<std::string> read_link(const std::string& path) = 0;

  // Removes a file or symlink (not a directory); missing is not an error.
  virtual Result<void> remove(const std::string& path) = 0;

  // Removes an empty directory; missing is not an error.
  virtual Result<void> remove_dir(const std::string& path) = 0;

  // Creates a symbolic link `path` holding `target` as written; an existing file or link at
  // `path` is replaced.
  virtual Result<void> make_symlink(const std::string& target, const std::string& path) = 0;

  // Renames within the guest.
  virtual Result<void> rename(const std::string& from, const std::string& to) = 0;

  // Free space and inodes of the file system holding `path`.
  virtual Result<SpaceInfo> free_space(const std::string& path) = 0;

  // Copies a regular file within the guest, keeping its mode.
  virtual Result<void> copy(const std::string& from, const std::string& to) = 0;

  // Creates a directory and its parents.
  virtual Result<void> make_dirs(const std::string& path) = 0;

  // Copies the guest file `path` to the host file `host_path` (for large binary files such as
  // an initramfs, read on the host with libarchive).
  virtual Result<void> download(const std::string& path, const std::string& host_path) = 0;

  // Runs a program inside the guest (chrooted, with the guest's own libraries). An error when
  // it could not run or exceeded `timeout`; a non-zero exit is in the result.
  virtual Result<CommandResult> run(const std::vector<std::string>& argv,
                                    std::chrono::seconds timeout) = 0;
};

// Whether `path` exists (following nothing).
bool exists(Guest& guest, const std::string& path);

// Whether `path` is a regular file or a link to one.
bool is_file(Guest& guest, const std::string& path);

// Whether `path` is a directory.
bool is_dir(Guest& guest, const std::string& path);

// The contents of `path`, or "" when it is missing or unreadable.
std::string read_or_empty(Guest& guest, const std::string& path,
                          size_t limit = k_default_read_limit);

} // namespace rehost
