#include "tests/integration/phony.hpp"

#include <filesystem>

namespace rehost::test {

std::string write_phony_debian(const TempDir& dir, const std::string& rel)
{
  const std::string k = "6.1.0-13-amd64";
  auto w = [&](const std::string& path, const std::string& content) {
    dir.write(rel + path, content);
  };
  w("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
                       "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\n"
                       "ID=debian\n");
  w("/etc/debian_version", "12.4\n");
  w("/etc/hostname", "phony\n");
  w("/etc/fstab", "/dev/sda1 / ext4 errors=remount-ro 0 1\n");
  w("/boot/vmlinuz-" + k, "placeholder kernel\n");
  w("/boot/initrd.img-" + k, "placeholder initramfs\n");
  w("/boot/config-" + k, "CONFIG_BLK_DEV_NVME=m\nCONFIG_VIRTIO_PCI=y\n");
  w("/lib/modules/" + k + "/modules.dep",
    "kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko\n"
    "kernel/drivers/nvme/host/nvme-core.ko:\n"
    "kernel/drivers/block/virtio_blk.ko:\n"
    "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko\n"
    "kernel/drivers/net/net_failover.ko:\n"
    "kernel/drivers/scsi/virtio_scsi.ko:\n"
    "kernel/drivers/scsi/sd_mod.ko:\n"
    "kernel/drivers/net/ethernet/amazon/ena/ena.ko:\n");
  w("/lib/modules/" + k + "/modules.builtin", "kernel/drivers/virtio/virtio_pci.ko\n");
  w("/boot/grub/grub.cfg",
    "set default=\"0\"\nmenuentry 'Debian GNU/Linux' --class debian $menuentry_id_option "
    "'gnulinux-simple' {\n\tlinux\t/boot/vmlinuz-"
        + k + " root=/dev/sda1 ro quiet\n\tinitrd\t/boot/initrd.img-" + k + "\n}\n");
  w("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="
                         "\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n");
  w("/usr/sbin/update-initramfs", "#!/bin/sh\n");
  w("/etc/initramfs-tools/initramfs.conf", "MODULES=dep\nBUSYBOX=auto\n");
  w("/etc/initramfs-tools/modules",
    "# List of modules that you want to include in your initramfs.\n");
  w("/var/lib/dpkg/status",
    "Package: open-vm-tools\nStatus: install ok installed\nVersion: 2:12.2.0\n\n"
    "Package: ifupdown\nStatus: install ok installed\nVersion: 0.8.41\n\n"
    "Package: removed-thing\nStatus: deinstall ok config-files\n\n");
  w("/etc/network/interfaces",
    "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n");
  w("/etc/udev/rules.d/70-persistent-net.rules",
    "SUBSYSTEM==\"net\", ATTR{address}==\"00:50:56:aa:bb:cc\", NAME=\"eth0\"\n");
  std::filesystem::path root =
      dir.path() / (rel.empty() ? "." : rel.substr(rel.find_first_not_of('/')));
  std::filesystem::create_directories(root / "bin");
  std::filesystem::copy_file("/usr/bin/dash", root / "bin/sh",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::create_directories(root / "usr/bin");
  std::filesystem::create_directories(root / "tmp");
  return root.string();
}

} // namespace rehost::test

namespace rehost::test {

namespace {

const char* k_update_initramfs = R"SH(#!/bin/sh
echo "update-initramfs $*" >> /var/log/stub-calls
[ -f /etc/stub-sleep ] && sleep "$(cat /etc/stub-sleep)"
if [ -f /etc/stub-fail ]; then echo "update-initramfs: failing as asked" >&2; exit 1; fi
ver=
while [ $# -gt 0 ]; do [ "$1" = -k ] && ver=$2; shift; done
mods=/lib/modules/$ver
stage=$(mktemp -d)
mkdir -p "$stage/lib/modules/$ver"
echo "#!/bin/sh" > "$stage/init"
# Listed modules and their dependencies, as modprobe --show-depends would add them.
for m in $(sed -e 's/#.*//' /etc/initramfs-tools/modules); do
  line=$(grep -E "(^|/)$(echo "$m" | sed 's/_/[-_]/g')\.ko[^:]*:" "$mods/modules.dep" | head -1)
  for f in $(echo "$line" | tr -d ':'); do
    mkdir -p "$stage/lib/modules/$ver/$(dirname "$f")"
    cp "$mods/$f" "$stage/lib/modules/$ver/$f"
  done
done
(cd "$stage" && find . | cpio -o -H newc 2>/dev/null | gzip) > "/boot/initrd.img-$ver"
rm -rf "$stage"
echo "update-initramfs: Generating /boot/initrd.img-$ver"
)SH";

const char* k_update_grub = R"SH(#!/bin/sh
echo "update-grub $*" >> /var/log/stub-calls
[ -f /etc/stub-sleep ] && sleep "$(cat /etc/stub-sleep)"
. /etc/default/grub
root_dev=$(stub-root device)
uuid=$(stub-root uuid)
root="root=$root_dev"
[ -n "$uuid" ] && [ "$GRUB_DISABLE_LINUX_UUID" != true ] && root="root=UUID=$uuid"
{
  echo 'set default="0"'
  for k in $(ls /boot | sed -n 's/^vmlinuz-//p' | sort -r); do
    echo "menuentry 'Debian GNU/Linux, with Linux $k' {"
    echo "	linux	/boot/vmlinuz-$k $root ro $GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT"
    echo "	initrd	/boot/initrd.img-$k"
    echo "}"
  done
} > /boot/grub/grub.cfg
echo done
)SH";

const char* k_dpkg = R"SH(#!/bin/sh
echo "dpkg $*" >> /var/log/stub-calls
[ -f /etc/stub-sleep ] && sleep "$(cat /etc/stub-sleep)"
exit 0
)SH";

// The device of the mounted root, or its file system UUID ("" when it has none), for the stubs
// that write boot menus.
const char* k_stub_root = R"SH(#!/bin/sh
root_dev=$(awk '$5 == "/" { print $(NF - 1) }' /proc/self/mountinfo | head -1)
[ "$1" = device ] && { echo "$root_dev"; exit 0; }
for link in /dev/disk/by-uuid/*; do
  [ "/dev/$(basename "$(readlink "$link")")" = "$root_dev" ] && basename "$link"
done
exit 0
)SH";

} // namespace

void install_busybox(const TempDir& dir, const std::string& rel)
{
  namespace fs = std::filesystem;
  fs::path r = dir.path() / rel;
  fs::remove(r / "bin/sh");
  fs::copy_file("/bin/busybox", r / "bin/busybox");
  for (const char* applet :
       {"sh",   "cat", "cp",   "mkdir",    "rm",       "sleep",   "echo",  "cpio", "gzip",
        "find", "sed", "awk",  "readlink", "basename", "dirname", "mv",    "ln",   "ls",
        "grep", "tr",  "head", "sort",     "mktemp",   "true",    "false", "tail", "uname"}) {
    if (!fs::exists(fs::symlink_status(r / "bin" / applet))) {
      fs::create_symlink("busybox", r / "bin" / applet);
    }
  }
  for (const char* d : {"tmp", "var/log", "var/tmp", "run", "proc", "sys", "dev", "usr/sbin"}) {
    fs::create_directories(r / d);
  }
  fs::remove(r / "usr/bin/stub-root");
  dir.write(rel + "/usr/bin/stub-root", k_stub_root);
  fs::permissions(r / "usr/bin/stub-root", fs::perms(0755));
}

std::string write_runnable_debian(const TempDir& dir, const std::string& rel)
{
  namespace fs = std::filesystem;
  std::string root = write_phony_debian(dir, rel);
  const std::string k = "6.1.0-13-amd64";
  fs::path r(root);
  install_busybox(dir, rel);
  auto script = [&](const std::string& path, const char* text) {
    dir.write(rel + path, text);
    fs::permissions(r / path.substr(1), fs::perms(0755));
  };
  script("/usr/sbin/update-initramfs", k_update_initramfs);
  script("/usr/sbin/update-grub", k_update_grub);
  script("/usr/bin/dpkg", k_dpkg);
  for (const char* m :
       {"kernel/drivers/nvme/host/nvme.ko", "kernel/drivers/nvme/host/nvme-core.ko",
        "kernel/drivers/block/virtio_blk.ko", "kernel/drivers/net/virtio_net.ko",
        "kernel/drivers/net/net_failover.ko", "kernel/drivers/scsi/virtio_scsi.ko",
        "kernel/drivers/net/ethernet/amazon/ena/ena.ko", "kernel/drivers/scsi/sd_mod.ko"}) {
    dir.write(rel + "/lib/modules/" + k + "/" + m, std::string("module ") + m + "\n");
  }
  // The stub bootloader configuration names the root by device, as the original does.
  dir.write(rel + "/etc/default/grub",
            "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
            "GRUB_CMDLINE_LINUX=\"console=tty0\"\nGRUB_DISABLE_LINUX_UUID=true\n");
  return root;
}

} // namespace rehost::test
