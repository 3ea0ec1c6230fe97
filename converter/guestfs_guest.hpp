// A guest on a disk image, reached through one libguestfs appliance.
//
// One appliance launch per command. The accelerator is chosen by usable_accel() unless the
// LIBGUESTFS_BACKEND_SETTINGS variable is set; every LIBGUESTFS_* variable is honoured. File
// operations run inside the appliance, chrooted to the guest, so a guest symlink can never
// reach a host file.
#pragma once

#include <memory>

#include "converter/disk.hpp"
#include "converter/guest.hpp"

typedef struct guestfs_h guestfs_h;

namespace rehost {

enum class DiskAccess { read_only, read_write };

class GuestfsGuest : public Guest {
public:
  // Launches an appliance on `image` (format "raw", "qcow2", ...). With read_only, writes go
  // to a throwaway overlay inside the appliance.
  static Result<std::unique_ptr<GuestfsGuest>> launch(const std::string& image,
                                                      const std::string& format, DiskAccess access);
  ~GuestfsGuest() override;

  // The partition tables (read with libparted from the disk's first and last MiB) and the
  // file systems.
  Result<DiskInfo> describe_disk();

  // The devices holding an operating system root.
  Result<std::vector<std::string>> find_roots();

  // Mounts `root` and the file systems its fstab names; records them in `disk`.
  Result<void> mount_root(const std::string& root, DiskInfo& disk);

  // Unmounts, syncs and stops the appliance; an error if the disk could not be written back.
  Result<void> shutdown();

  // Appliance launches so far in this process (for the report and the benchmark).
  static int launches();

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

  // The guest's firmware, "bios" or "uefi". The appliance boots by BIOS; guest commands of a
  // UEFI guest see a /sys/firmware/efi of their own, as on the guest (grub2-mkconfig of
  // RHEL 7 and 8 writes linuxefi entries only when it is there, linux16 otherwise).
  void set_firmware(const std::string& firmware) { m_firmware = firmware; }

private:
  static Result<std::unique_ptr<GuestfsGuest>>
  launch_once(const std::string& image, const std::string& format, DiskAccess access,
              std::chrono::seconds timeout, bool& expired);
  GuestfsGuest(guestfs_h* g, std::string image, DiskAccess access)
      : m_g(g), m_image(std::move(image)), m_access(access)
  {
  }

  std::string last_error() const;
  Result<void> upload_content(const std::string& path, const std::string& content);

  guestfs_h* m_g;
  std::string m_image;
  DiskAccess m_access;
  bool m_mounted = false;
  std::string m_firmware = "bios";
};

} // namespace rehost
