// A guest that is a directory on the host holding a root file system (tests, `inspect DIR`).
//
// Every path is resolved with openat2(RESOLVE_IN_ROOT): absolute links and ".." stay inside
// the directory, so a guest link such as /etc/fstab -> /../../etc/passwd reads the guest's
// /etc/passwd, never the host's. Device nodes, FIFOs and sockets are never opened for reading.
#pragma once

#include <functional>
#include <memory>

#include "converter/guest.hpp"

namespace rehost {

class DirGuest : public Guest {
public:
  // Opens `root` (a directory); an error when it is missing or not a directory.
  static Result<std::unique_ptr<DirGuest>> open(const std::string& root);

  // How run() runs guest programs; without one, run() fails.
  using Runner =
      std::function<Result<CommandResult>(const std::vector<std::string>&, std::chrono::seconds)>;
  void set_runner(Runner runner, std::string description);
  const std::string& root() const { return m_root; }
  ~DirGuest() override;

  std::string describe() const override;
  Result<FileInfo> lstat(const std::string& path) override;
  Result<FileInfo> stat(const std::string& path) override;
  Result<std::string> read_file(const std::string& path, size_t limit) override;
  Result<std::string> read_head(const std::string& path, size_t size) override;
  Result<void> write_file(const std::string& path, const std::string& content,
                          uint32_t mode) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Result<std::string> read_link(const std::string& path) override;
  Result<void> remove(const std::string& path) override;
  Result<void> remove_dir(const std::string& path) override;
  Result<void> make_symlink(const std::string& target, const std::string& path) override;
  Result<void> rename(const std::string& from, const std::string& to) override;
  Result<SpaceInfo> free_space(const std::string& path) override;
  Result<void> copy(const std::string& from, const std::string& to) override;
  Result<void> make_dirs(const std::string& path) override;
  Result<void> download(const std::string& path, const std::string& host_path) override;
  Result<CommandResult> run(const std::vector<std::string>& argv,
                            std::chrono::seconds timeout) override;

private:
  DirGuest(std::string root, int root_fd) : m_root(std::move(root)), m_root_fd(root_fd) {}

  // An O_PATH or real descriptor for `path`, resolved inside the root; -errno on failure.
  int open_in_root(const std::string& path, int flags, bool follow_last = true) const;
  // The descriptor of the parent directory of `path`, and its last component.
  Result<std::pair<int, std::string>> open_parent(const std::string& path) const;

  std::string m_root;
  int m_root_fd;
  Runner m_runner;
  std::string m_description;
};

} // namespace rehost
