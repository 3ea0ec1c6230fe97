#include "tests/integration/phony.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/fixture_guest.hpp"

namespace rehost::test {

namespace {

namespace fs = std::filesystem;

// Packs modules of one kernel, with their modules.dep dependencies, into a gzip'd newc cpio,
// as each initramfs tool does with the modules its configuration lists. A module the kernel
// lacks is a warning, as in the real tools; a kernel without a module tree is an error.
const char* k_pack_initramfs = R"SH(#!/bin/sh
# usage: stub-pack-initramfs IMAGE VERSION MODULE...
img=$1; ver=$2; shift 2
mods=/lib/modules/$ver
if [ ! -d "$mods" ]; then
  echo "Cannot find module directory $mods/" >&2
  exit 1
fi
stage=$(mktemp -d)
mkdir -p "$stage/lib/modules/$ver"
echo "#!/bin/sh" > "$stage/init"
for m in "$@"; do
  pattern="(^|/)$(echo "$m" | sed 's/[-_]/[-_]/g')\.ko[^:/]*:"
  line=$(grep -E "$pattern" "$mods/modules.dep" | head -1)
  if [ -z "$line" ]; then
    echo "Possible missing module $m for kernel $ver" >&2
    continue
  fi
  for f in $(echo "$line" | tr -d ':'); do
    mkdir -p "$stage/lib/modules/$ver/$(dirname "$f")"
    cp "$mods/$f" "$stage/lib/modules/$ver/$f"
  done
done
(cd "$stage" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$img"
rm -rf "$stage"
)SH";

// dracut: the drivers of add_drivers in its configuration files and --add-drivers; refuses to
// overwrite an image without --force, as dracut does.
const char* k_dracut = R"SH(#!/bin/sh
echo "dracut $*" >> /var/log/stub-calls
img=; ver=; force=; extra=
while [ $# -gt 0 ]; do
  case $1 in
    -f|--force) force=1 ;;
    --add-drivers) extra="$extra $2"; shift ;;
    --kver) ver=$2; shift ;;
    -*) ;;
    *) if [ -z "$img" ]; then img=$1; else ver=$1; fi ;;
  esac
  shift
done
[ -n "$ver" ] || ver=$(uname -r)
[ -n "$img" ] || img=/boot/initramfs-$ver.img
if [ -e "$img" ] && [ -z "$force" ]; then
  echo "dracut: Will not override existing initramfs ($img) without --force" >&2
  exit 1
fi
drivers=$(cat /usr/lib/dracut/dracut.conf.d/*.conf /etc/dracut.conf /etc/dracut.conf.d/*.conf \
  2>/dev/null | sed -n 's/^[[:space:]]*add_drivers+\{0,1\}=[[:space:]]*"\(.*\)".*/\1/p')
exec stub-pack-initramfs "$img" "$ver" $drivers $extra
)SH";

// SUSE's mkinitrd before SLES 12: INITRD_MODULES of /etc/sysconfig/kernel; -k names the kernel
// image, -i the initrd (relative to /boot unless absolute).
const char* k_mkinitrd = R"SH(#!/bin/sh
echo "mkinitrd $*" >> /var/log/stub-calls
kernel=vmlinuz; initrd=initrd
while [ $# -gt 0 ]; do
  case $1 in
    -k) kernel=$2; shift ;;
    -i) initrd=$2; shift ;;
  esac
  shift
done
case $kernel in /*) ;; *) kernel=/boot/$kernel ;; esac
case $initrd in /*) ;; *) initrd=/boot/$initrd ;; esac
name=$(basename "$(readlink -f "$kernel")")
ver=${name#vmlinuz-}
INITRD_MODULES=
. /etc/sysconfig/kernel
echo "Kernel image:   $kernel"
echo "Initrd image:   $initrd"
echo "Kernel Modules: $INITRD_MODULES"
exec stub-pack-initramfs "$initrd" "$ver" $INITRD_MODULES
)SH";

// mkinitcpio: MODULES=(...) of /etc/mkinitcpio.conf; -k is a version or a kernel image.
const char* k_mkinitcpio = R"SH(#!/bin/sh
echo "mkinitcpio $*" >> /var/log/stub-calls
ver=; img=
while [ $# -gt 0 ]; do
  case $1 in
    -k) ver=$2; shift ;;
    -g) img=$2; shift ;;
  esac
  shift
done
case $ver in /*) ver=$(cat "/usr/lib/modules/$(basename "$ver")/pkgbase" 2>/dev/null || echo "$ver") ;; esac
if [ -z "$img" ]; then echo "==> Dry run complete"; exit 0; fi
modules=$(sed -n 's/^MODULES=(\(.*\))[[:space:]]*$/\1/p' /etc/mkinitcpio.conf | tail -1 | tr -d "\"'")
echo "==> Building image from preset: -k $ver -g $img"
exec stub-pack-initramfs "$img" "$ver" $modules
)SH";

// grub-mkconfig and grub2-mkconfig: a grub.cfg that boots each kernel of /boot with root=UUID=
// of the mounted root, as grub does; a BLS grub.cfg (blscfg) is generated unchanged.
const char* k_grub_mkconfig = R"SH(#!/bin/sh
echo "$(basename "$0") $*" >> /var/log/stub-calls
out=
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
grep -q '^blscfg' "$out" 2>/dev/null && exit 0
. /etc/default/grub
root_dev=$(stub-root device)
uuid=$(stub-root uuid)
root="root=$root_dev"
[ -n "$uuid" ] && root="root=UUID=$uuid"
{
  echo 'set default="0"'
  for image in $(ls /boot | grep '^vmlinuz-' | sort -r); do
    s=${image#vmlinuz-}
    initrd=
    for i in "initrd-$s" "initramfs-$s.img" "initrd.img-$s"; do
      [ -f "/boot/$i" ] && initrd=/boot/$i && break
    done
    echo "menuentry 'Linux $s' {"
    echo "	linux	/boot/$image $root $GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT"
    echo "	initrd	$initrd"
    echo "}"
  done
} > "$out"
)SH";

const char* k_record_only = R"SH(#!/bin/sh
echo "$(basename "$0") $*" >> /var/log/stub-calls
)SH";

struct Distro {
  const char* fixture;
  std::vector<std::pair<std::string, std::string>> replace; // in the fixture's text
  std::string modules_ext;
  std::vector<std::string> extra_modules; // added to every kernel's modules.dep
  std::vector<std::pair<std::string, const char*>> scripts;
  std::vector<std::pair<std::string, std::string>> files;
};

// The RHEL family's phony guests: one root file system, so /boot's paths gain /boot.
Distro rhel_like(const char* fixture, bool bls)
{
  std::string grub = "GRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=\"$(sed 's, release .*$,,g' "
                     "/etc/system-release)\"\nGRUB_DEFAULT=saved\nGRUB_DISABLE_SUBMENU=true\n"
                     "GRUB_TERMINAL_OUTPUT=\"console\"\n"
                     "GRUB_CMDLINE_LINUX=\"crashkernel=auto rhgb quiet\"\n"
                     "GRUB_DISABLE_RECOVERY=\"true\"\n";
  if (bls) {
    grub += "GRUB_ENABLE_BLSCFG=true\n";
  }
  return {fixture,
          {{"root=/dev/mapper/rhel-root", "root=/dev/sda1"},
           {"linux /vmlinuz-", "linux /boot/vmlinuz-"},
           {"initrd /initramfs-", "initrd /boot/initramfs-"},
           {"linuxefi /vmlinuz-", "linuxefi /boot/vmlinuz-"},
           {"initrdefi /initramfs-", "initrdefi /boot/initramfs-"}},
          ".ko.xz",
          {"kernel/drivers/scsi/sd_mod.ko.xz:"},
          {{"/usr/bin/dracut", k_dracut},
           {"/usr/sbin/grub2-mkconfig", k_grub_mkconfig},
           {"/usr/bin/rpm", k_record_only}},
          {{"/etc/fstab", "/dev/sda1 / ext4 defaults 1 1\n"},
           {"/etc/default/grub", grub},
           {"/etc/dracut.conf.d/50-vmware.conf", "add_drivers+=\" vmw_pvscsi \"\n"}}};
}

Distro distro(PhonyLinux which)
{
  const std::string fstab = "/dev/sda1 / ext4 defaults 1 1\n";
  switch (which) {
  case PhonyLinux::rocky9:
    return rhel_like("rocky-9.3", true);
  case PhonyLinux::rhel7_uefi:
    return rhel_like("rhel-7.9-uefi", false);
  case PhonyLinux::rhel9_uefi:
    return rhel_like("rhel-9.4-uefi", true);
  case PhonyLinux::sles15:
    return {"sles-15.5",
            {{"root=UUID=3f9a1c2e-5b7d-4e21-9c0a-6d8e2f4b1a7c", "root=/dev/sda1"}},
            ".ko.zst",
            {"kernel/drivers/scsi/sd_mod.ko.zst:"},
            {{"/usr/bin/dracut", k_dracut},
             {"/usr/sbin/grub2-mkconfig", k_grub_mkconfig},
             {"/usr/bin/rpm", k_record_only}},
            {{"/etc/fstab", fstab},
             {"/etc/default/grub",
              "GRUB_DISTRIBUTOR=\"SLES 15-SP5\"\nGRUB_DEFAULT=saved\nGRUB_HIDDEN_TIMEOUT=0\n"
              "GRUB_TIMEOUT=8\nGRUB_CMDLINE_LINUX_DEFAULT=\"splash=silent quiet showopts\"\n"
              "GRUB_CMDLINE_LINUX=\"\"\nGRUB_TERMINAL=\"gfxterm\"\n"},
             {"/etc/sysconfig/kernel",
              "## Path:\tSystem/Kernel\n## Description:\tKernel and its modules\n"
              "## Type:\tstring\n#\n# This variable contains the list of modules to be loaded\n"
              "# once the main filesystem is active\n#\nMODULES_LOADED_ON_BOOT=\"\"\n\n"
              "## Type:\tstring\n#\n# The YaST-installed kernel packages to keep\n"
              "#\nMULTIVERSION_KERNELS=\"latest,latest-1,running\"\n"}}};
  case PhonyLinux::sles11:
    return {"sles-11.4",
            {{"root=/dev/disk/by-uuid/3f9a1c2e-5b7d-4e21-9c0a-6d8e2f4b1a7c", "root=/dev/sda1"}},
            ".ko",
            {"kernel/drivers/scsi/sd_mod.ko:", "kernel/drivers/acpi/processor.ko:",
             "kernel/drivers/acpi/thermal.ko: kernel/drivers/acpi/processor.ko",
             "kernel/drivers/acpi/fan.ko:", "kernel/drivers/ata/ata_generic.ko:",
             "kernel/drivers/ide/piix.ko:", "kernel/drivers/ide/ide-pci-generic.ko:",
             "kernel/fs/jbd/jbd.ko:", "kernel/fs/ext3/ext3.ko: kernel/fs/jbd/jbd.ko",
             "kernel/drivers/firmware/edd.ko:"},
            {{"/sbin/mkinitrd", k_mkinitrd}, {"/bin/rpm", k_record_only}},
            {{"/etc/fstab", fstab}}};
  case PhonyLinux::arch:
    return {"arch-grub",
            {{"root=UUID=3f9a1c2e-5b7d-4e21-9c0a-6d8e2f4b1a7c", "root=/dev/sda1"}},
            ".ko.zst",
            {"kernel/drivers/scsi/sd_mod.ko.zst:"},
            {{"/usr/bin/mkinitcpio", k_mkinitcpio},
             {"/usr/bin/grub-mkconfig", k_grub_mkconfig},
             {"/usr/bin/pacman", k_record_only}},
            {{"/etc/fstab", "# Static information about the filesystems.\n" + fstab},
             {"/etc/default/grub",
              "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=\"Arch\"\n"
              "GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=3 quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n"
              "GRUB_DISABLE_RECOVERY=true\n"}}};
  }
  return {};
}

std::string read_host(const fs::path& p)
{
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

std::string write_runnable_linux(const TempDir& dir, const std::string& rel, PhonyLinux which)
{
  Distro d = distro(which);
  fs::path root = dir.path() / rel;
  std::string text;
  for (const auto& f : linux_fixture_files()) {
    if (f.stem() == d.fixture) {
      text = read_fixture(f);
    }
  }
  for (const auto& [from, to] : d.replace) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
      at += to.size();
    }
  }
  build_fixture(text, root);

  // busybox is the shell and every tool; the fixture's /bin/sh (a link to a placeholder bash)
  // goes.
  install_busybox(dir, rel);
  auto script = [&](const std::string& path, const char* content) {
    fs::remove(root / path.substr(1));
    dir.write(rel + path, content);
    fs::permissions(root / path.substr(1), fs::perms(0755));
  };
  script("/usr/bin/stub-pack-initramfs", k_pack_initramfs);
  if (!fs::exists(root / "bin/stub-pack-initramfs")) {
    fs::create_symlink("../usr/bin/stub-pack-initramfs", root / "bin/stub-pack-initramfs");
  }
  for (const auto& [path, content] : d.scripts) {
    script(path, content);
  }
  for (const auto& [path, content] : d.files) {
    dir.write(rel + path, content);
  }

  // Every kernel's modules.dep gets the extra modules, and every module it lists a file.
  for (const auto& kernel : fs::directory_iterator(root / "lib/modules")) {
    fs::path dep = kernel.path() / "modules.dep";
    std::string list = read_host(dep);
    for (const auto& line : d.extra_modules) {
      list += line + "\n";
    }
    std::ofstream(dep) << list;
    std::istringstream lines(list);
    std::string line;
    while (std::getline(lines, line)) {
      std::string first = line.substr(0, line.find(':'));
      if (!first.empty()) {
        fs::create_directories((kernel.path() / first).parent_path());
        std::ofstream(kernel.path() / first) << "module " << first << "\n";
      }
    }
  }
  return root.string();
}

} // namespace rehost::test
