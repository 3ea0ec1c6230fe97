#include "tests/integration/lifecycle_phony.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "tests/integration/phony.hpp"

namespace rehost::test {

namespace fs = std::filesystem;

namespace {

constexpr int k_disk_mib = 32;
constexpr int k_partition_mib = 30;
const std::string k_kernel = "6.1.0-13-amd64";

// An MBR with one bootable Linux partition from 1 MiB, written directly (sfdisk would sync()
// the whole host).
void write_mbr(const std::string& disk)
{
  std::array<unsigned char, 512> mbr{};
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      mbr[at + i] = static_cast<unsigned char>(v >> (8 * i));
    }
  };
  put32(440, 0x52454844); // disk signature
  const size_t entry = 446;
  mbr[entry] = 0x80;     // bootable
  mbr[entry + 4] = 0x83; // Linux
  mbr[entry + 1] = 0xfe; // CHS fields unused: LBA only
  mbr[entry + 2] = 0xff;
  mbr[entry + 3] = 0xff;
  mbr[entry + 5] = 0xfe;
  mbr[entry + 6] = 0xff;
  mbr[entry + 7] = 0xff;
  put32(entry + 8, 2048);
  put32(entry + 12, static_cast<uint32_t>(k_partition_mib) * 2048);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  int fd = ::open(disk.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(pwrite(fd, mbr.data(), mbr.size(), 0) == 512);
  close(fd);
}

std::string partition_of(const std::string& disk)
{
  return disk + "?offset=1048576";
}

void make_tree(const TempDir& dir, const std::string& rel, ConvertSpeed speed)
{
  std::string root = write_phony_debian(dir, rel);
  auto w = [&](const std::string& path, const std::string& content) {
    dir.write(rel + path, content);
  };
  // No VMware tools: removing them would need dpkg in the guest.
  w("/var/lib/dpkg/status", "Package: ifupdown\nStatus: install ok installed\nVersion: 0.8.41\n\n");
  w("/usr/sbin/update-initramfs",
    "#!/bin/sh\nif [ -e /etc/rehost-test-slow ]; then sleep 3; fi\nexit 0\n");
  w("/usr/sbin/update-grub",
    "#!/bin/sh\n. /etc/default/grub\n"
    "printf 'menuentry \"Debian GNU/Linux\" {\\n\\tlinux\\t/boot/vmlinuz-"
        + k_kernel + " root=LABEL=phony-root ro %s %s\\n\\tinitrd\\t/boot/initrd.img-" + k_kernel
        + "\\n}\\n' \"$GRUB_CMDLINE_LINUX\" \"$GRUB_CMDLINE_LINUX_DEFAULT\" "
          "> /boot/grub/grub.cfg\n");
  if (speed == ConvertSpeed::slow) {
    w("/etc/rehost-test-slow", "");
  }
  for (const char* script : {"/usr/sbin/update-initramfs", "/usr/sbin/update-grub"}) {
    fs::permissions(root + script, fs::perms::owner_all | fs::perms::group_read
                                       | fs::perms::group_exec | fs::perms::others_read
                                       | fs::perms::others_exec);
  }
  // The guest's dash and sleep need the C library.
  fs::create_directories(root + "/lib/x86_64-linux-gnu");
  fs::create_directories(root + "/lib64");
  fs::copy_file("/lib/x86_64-linux-gnu/libc.so.6", root + "/lib/x86_64-linux-gnu/libc.so.6",
                fs::copy_options::overwrite_existing);
  fs::copy_file("/lib64/ld-linux-x86-64.so.2", root + "/lib64/ld-linux-x86-64.so.2",
                fs::copy_options::overwrite_existing);
  fs::copy_file("/usr/bin/sleep", root + "/bin/sleep", fs::copy_options::overwrite_existing);
  for (const char* d : {"/run", "/dev", "/proc", "/sys", "/var/tmp"}) {
    fs::create_directories(root + d);
  }
  // An initramfs that holds the drivers of every built-in target, as newc cpio under xz: rehost
  // does not rewrite xz images on the host (docs/initramfs.md), so the conversion runs the
  // guest's update-initramfs, the slow step the lifecycle tests interrupt.
  std::string initramfs = dir.str() + "/" + rel + "-initramfs";
  std::string modules = initramfs + "/usr/lib/modules/" + k_kernel + "/kernel/drivers/";
  for (const char* module : {"nvme/host/nvme.ko", "nvme/host/nvme-core.ko", "block/virtio_blk.ko",
                             "net/virtio_net.ko", "net/net_failover.ko", "scsi/virtio_scsi.ko",
                             "scsi/sd_mod.ko", "net/ethernet/amazon/ena/ena.ko"}) {
    fs::create_directories(fs::path(modules + module).parent_path());
    dir.write(fs::relative(modules + module, dir.path()).string(), "module\n");
  }
  must_run({"sh", "-c",
            "cd '" + initramfs + "' && find . | cpio -o -H newc --quiet | xz --check=crc32 > '"
                + root + "/boot/initrd.img-" + k_kernel + "'"});
  fs::remove_all(initramfs);
}

} // namespace

std::string make_convertible_disk(const TempDir& dir, const std::string& name, ConvertSpeed speed)
{
  static std::atomic<int> counter{0};
  std::string rel = "tree-" + name + "-" + std::to_string(counter++);
  make_tree(dir, rel, speed);
  std::string disk = dir.str() + "/" + name;
  std::string part = disk + ".part";
  must_run({"mkfs.ext4", "-q", "-F", "-L", "phony-root", "-d", dir.str() + "/" + rel, part,
            std::to_string(k_partition_mib) + "M"});
  must_run({"truncate", "-s", std::to_string(k_disk_mib) + "M", disk});
  write_mbr(disk);
  must_run(
      {"dd", "if=" + part, "of=" + disk, "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none"});
  fs::remove(part);
  fs::remove_all(dir.str() + "/" + rel);
  return disk;
}

void write_guest_file(const std::string& disk, const std::string& path, const std::string& content)
{
  static std::atomic<int> counter{0};
  std::string host = disk + ".guest-file-" + std::to_string(counter++);
  {
    std::ofstream(host, std::ios::binary) << content;
  }
  must_run({"debugfs", "-w", "-R", "rm " + path, partition_of(disk)});
  must_run({"debugfs", "-w", "-R", "write " + host + " " + path, partition_of(disk)});
  fs::remove(host);
}

std::string read_guest_file(const TempDir& dir, const std::string& image, const std::string& path)
{
  static std::atomic<int> counter{0};
  std::string raw = dir.str() + "/read-" + std::to_string(counter++) + ".raw";
  must_run({"qemu-img", "convert", "-U", "-O", "raw", image, raw});
  std::string content = must_run({"debugfs", "-R", "cat " + path, partition_of(raw)});
  fs::remove(raw);
  return content;
}

RunResult rehost_in(const std::string& state_dir, const std::vector<std::string>& args)
{
  std::vector<std::string> all = {"--state-dir", state_dir};
  all.insert(all.end(), args.begin(), args.end());
  return run_rehost(all, 600);
}

nlohmann::json stdout_json(const RunResult& result)
{
  try {
    return nlohmann::json::parse(result.out);
  } catch (const std::exception& e) {
    FAIL("not JSON (" << e.what() << "):\n" << result.out << "\nstderr:\n" << result.err);
  }
  return {};
}

} // namespace rehost::test
