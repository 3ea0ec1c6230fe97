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
