// Validation of a converted guest, on directory guests.
#include "converter/validate.hpp"

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost;

namespace {

// A RHEL 9 style guest: grub.cfg only runs blscfg, the entries are in /boot/loader/entries.
Inspection bls_guest(const test::TempDir& dir)
{
  dir.write("root/boot/grub2/grub.cfg", "set default=\"${saved_entry}\"\ninsmod blscfg\nblscfg\n");
  dir.write("root/boot/grub2/grubenv", "# GRUB Environment Block\nsaved_entry=m-5.14.0-2\n");
  dir.write("root/boot/loader/entries/m-5.14.0-2.conf",
            "title Rocky Linux (5.14.0-2) 9.3\nversion 5.14.0-2\nlinux /boot/vmlinuz-5.14.0-2\n"
            "initrd /boot/initramfs-5.14.0-2.img $tuned_initrd\n"
            "options root=UUID=r ro console=ttyS0 $tuned_params\n");
  dir.write("root/boot/loader/entries/m-5.14.0-1.conf",
            "title Rocky Linux (5.14.0-1) 9.3\nversion 5.14.0-1\nlinux /boot/vmlinuz-5.14.0-1\n"
            "initrd /boot/initramfs-5.14.0-1.img\noptions root=/dev/sda1 ro\n");
  dir.write("root/boot/vmlinuz-5.14.0-2", "kernel\n");
  dir.write("root/boot/initramfs-5.14.0-2.img", "image\n");
  Inspection in;
  in.bootloader = "grub2";
  in.bootloader_config = "/boot/grub2/grub.cfg";
  in.bootloader_bls = true;
  in.default_entry = "Rocky Linux (5.14.0-2) 9.3";
  in.default_kernel = "5.14.0-2";
  in.default_cmdline = "root=UUID=r ro console=ttyS0";
  return in;
}

// A RHEL 7 style guest: grub.cfg holds the entry, loaded with `loader` (linux16 or linuxefi).
Inspection grub_cfg_guest(const test::TempDir& dir, const std::string& loader,
                          const std::string& firmware)
{
  std::string initrd = loader == "linuxefi" ? "initrdefi" : "initrd16";
  dir.write("root/boot/grub2/grub.cfg",
            "set default=\"0\"\nmenuentry 'CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)' {\n"
            "\t" + loader
                + " /boot/vmlinuz-3.10.0-1160.el7.x86_64 root=UUID=r ro\n\t" + initrd
                + " /boot/initramfs-3.10.0-1160.el7.x86_64.img\n}\n");
  dir.write("root/boot/vmlinuz-3.10.0-1160.el7.x86_64", "kernel\n");
  dir.write("root/boot/initramfs-3.10.0-1160.el7.x86_64.img", "image\n");
  Inspection in;
  in.firmware = firmware;
  in.bootloader = "grub2";
  in.bootloader_config = "/boot/grub2/grub.cfg";
  in.default_entry = "CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)";
  in.default_kernel = "3.10.0-1160.el7.x86_64";
  in.default_cmdline = "root=UUID=r ro";
  return in;
}

TargetProfile target_offering(const std::string& name, std::vector<std::string> firmwares)
{
  TargetProfile target;
  target.name = name;
  target.boot_test.firmwares = std::move(firmwares);
  return target;
}

// A Debian 12 directory guest in DIR/root whose /bin/sh is an ELF header for `machine`
// (e_machine: 0x3e x86_64, 0xb7 aarch64), with `efi_loader` written on its ESP.
void write_debian_of_arch(const test::TempDir& dir, unsigned char machine,
                          const std::string& efi_loader)
{
  std::string header = std::string("\x7f"
                                   "ELF\x02\x01\x01",
                                   7)
                       + std::string(57, '\0');
  header[18] = static_cast<char>(machine);
  dir.write("root/bin/sh", header);
  dir.write("root/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  dir.write("root/boot/efi/EFI/debian/" + efi_loader, "grub");
}

// Inspection of the directory guest DIR/root.
Inspection inspect_root(const test::TempDir& dir)
{
  auto guest = DirGuest::open(dir.str() + "/root");
  REQUIRE(guest);
  auto in = inspect_guest(**guest, DiskInfo{});
  REQUIRE(in);
  return *in;
}

std::vector<Check> all_checks(const test::TempDir& dir, const Inspection& in)
{
  auto guest = DirGuest::open(dir.str() + "/root");
  REQUIRE(guest);
  TargetProfile target;
  target.name = "kvm";
  return validate_guest(**guest, in, target, nullptr);
}

const Check* named(const std::vector<Check>& checks, const std::string& name)
{
  for (const auto& c : checks) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

Check bootloader_check(const test::TempDir& dir, const Inspection& in)
{
  auto guest = DirGuest::open(dir.str() + "/root");
  REQUIRE(guest);
  TargetProfile target;
  target.name = "kvm";
  for (const auto& c : validate_guest(**guest, in, target, nullptr)) {
    if (c.name == "bootloader") {
      return c;
    }
  }
  FAIL("no bootloader check");
  return {};
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("the bootloader check of a BLS guest reads the default BLS entry")
  {
    test::TempDir dir;
    Inspection in = bls_guest(dir);
    auto check = bootloader_check(dir, in);
    CHECK(check.passed);
    CHECK(check.detail
          == "default entry 'Rocky Linux (5.14.0-2) 9.3' boots /boot/vmlinuz-5.14.0-2 with "
             "root=UUID=r");
  }

  TEST_CASE("the bootloader check of a BLS guest fails when the default entry's image is gone")
  {
    test::TempDir dir;
    Inspection in = bls_guest(dir);
    std::filesystem::remove(dir.path() / "root/boot/initramfs-5.14.0-2.img");
    auto check = bootloader_check(dir, in);
    CHECK_FALSE(check.passed);
    CHECK(check.detail.find("initramfs /boot/initramfs-5.14.0-2.img does not exist")
          != std::string::npos);
  }

  TEST_CASE("the bootloader check of a BLS guest names a default that matches no entry")
  {
    test::TempDir dir;
    Inspection in = bls_guest(dir);
    in.default_entry = "gone";
    auto check = bootloader_check(dir, in);
    CHECK_FALSE(check.passed);
    CHECK(check.detail == "no entry of /boot/loader/entries is the default ('gone')");
  }

  TEST_CASE("on a UEFI guest, a default entry loaded with linux16 fails the bootloader check")
  {
    test::TempDir dir;
    dir.write("root/boot/efi/EFI/centos/shimx64.efi", "shim\n");
    auto checks = all_checks(dir, grub_cfg_guest(dir, "linux16", "uefi"));
    REQUIRE(named(checks, "bootloader"));
    CHECK_FALSE(named(checks, "bootloader")->passed);
    CHECK(named(checks, "bootloader")
              ->detail.find("loads its kernel with linux16, which UEFI "
                            "grub lacks")
          != std::string::npos);
    // The same entry is right on a BIOS guest, and linuxefi is right on UEFI.
    test::TempDir bios;
    CHECK(named(all_checks(bios, grub_cfg_guest(bios, "linux16", "bios")), "bootloader")->passed);
    test::TempDir efi;
    CHECK(named(all_checks(efi, grub_cfg_guest(efi, "linuxefi", "uefi")), "bootloader")->passed);
  }

  TEST_CASE("a UEFI guest passes validation only with the fallback loader on its ESP")
  {
    test::TempDir dir;
    Inspection in = grub_cfg_guest(dir, "linuxefi", "uefi");
    // With the ESP not mounted, its loaders are unknown: no check, and no linux16 verdict.
    CHECK_FALSE(named(all_checks(dir, in), "uefi"));
    test::TempDir unmounted;
    CHECK(named(all_checks(unmounted, grub_cfg_guest(unmounted, "linux16", "uefi")), "bootloader")
              ->passed);
    dir.write("root/boot/efi/EFI/centos/shimx64.efi", "shim\n");
    auto without = all_checks(dir, in);
    REQUIRE(named(without, "uefi"));
    CHECK_FALSE(named(without, "uefi")->passed);
    CHECK(named(without, "uefi")->detail.find("no fallback loader") == 0);
    in.efi_fallback_loader = true;
    auto with = all_checks(dir, in);
    REQUIRE(named(with, "uefi"));
    CHECK(named(with, "uefi")->passed);
    // BIOS guests have no such check.
    in.firmware = "bios";
    CHECK_FALSE(named(all_checks(dir, in), "uefi"));
  }

  TEST_CASE("an arm64 UEFI guest needs BOOTAA64.EFI: its inspection does not count BOOTX64.EFI")
  {
    test::TempDir dir;
    write_debian_of_arch(dir, 0xb7, "grubaa64.efi");
    dir.write("root/boot/efi/EFI/BOOT/BOOTX64.EFI", "x64");
    Inspection in = inspect_root(dir);
    REQUIRE(in.os.arch == "aarch64");
    CHECK(in.firmware == "uefi");
    CHECK_FALSE(in.efi_fallback_loader);
    auto checks = all_checks(dir, in);
    REQUIRE(named(checks, "uefi"));
    CHECK_FALSE(named(checks, "uefi")->passed);
    CHECK(named(checks, "uefi")->detail.find("\\EFI\\BOOT\\BOOTAA64.EFI") != std::string::npos);
    dir.write("root/boot/efi/EFI/BOOT/BOOTAA64.EFI", "grub");
    CHECK(inspect_root(dir).efi_fallback_loader);
  }

  TEST_CASE("a guest that boots only with UEFI fails on a target that offers only BIOS")
  {
    test::TempDir dir;
    Inspection in = grub_cfg_guest(dir, "linuxefi", "uefi");
    TargetProfile xen = target_offering("aws-xen", {"bios"});
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    auto checks = validate_guest(**guest, in, xen, nullptr);
    auto failed = named(checks, "firmware");
    REQUIRE(failed);
    CHECK_FALSE(failed->passed);
    CHECK(failed->detail.find("boots only with uefi") != std::string::npos);
    CHECK(failed->detail.find("aws-xen offers bios") != std::string::npos);
    // With grub also installed for BIOS it boots there; and a target with UEFI takes it.
    in.bios_boot_too = true;
    checks = validate_guest(**guest, in, xen, nullptr);
    CHECK(named(checks, "firmware")->passed);
    in.bios_boot_too = false;
    xen.boot_test.firmwares = {"bios", "uefi"};
    checks = validate_guest(**guest, in, xen, nullptr);
    CHECK(named(checks, "firmware")->passed);
  }

  TEST_CASE("inspection sees a UEFI guest whose grub is also installed for BIOS")
  {
    test::TempDir dir;
    write_debian_of_arch(dir, 0x3e, "grubx64.efi");
    dir.write("root/boot/grub/i386-pc/normal.mod", "module");
    Inspection in = inspect_root(dir);
    CHECK(in.firmware == "uefi");
    // Modules alone are grub-pc's package; grub-install for BIOS writes core.img.
    CHECK_FALSE(in.bios_boot_too);
    dir.write("root/boot/grub/i386-pc/core.img", "core");
    CHECK(inspect_root(dir).bios_boot_too);
    // On a disk, core.img needs room: an MBR disk's gap or a GPT BIOS boot partition.
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    DiskInfo gpt;
    gpt.tables.push_back(
        {"/dev/sda", "gpt", 10 << 20, {{1, 1 << 20, 1 << 20, "", "", "", {"esp"}}}});
    auto without = inspect_guest(**guest, gpt);
    REQUIRE(without);
    CHECK_FALSE(without->bios_boot_too);
    gpt.tables[0].partitions.push_back({2, 2 << 20, 1 << 20, "", "", "", {"bios_grub"}});
    auto with = inspect_guest(**guest, gpt);
    REQUIRE(with);
    CHECK(with->bios_boot_too);
  }

  TEST_CASE("a target profile that names no firmware refuses no guest, and boots the guest's own")
  {
    test::TempDir dir;
    Inspection in = grub_cfg_guest(dir, "linuxefi", "uefi");
    TargetProfile quiet = target_offering("custom", {});
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    auto checks = validate_guest(**guest, in, quiet, nullptr);
    REQUIRE(named(checks, "firmware"));
    CHECK(named(checks, "firmware")->passed);
    CHECK(named(checks, "firmware")->detail.find("names no firmware") != std::string::npos);
    CHECK(quiet.boot_test.for_guest("uefi").firmware == "uefi");
    CHECK(quiet.boot_test.for_guest("bios").firmware == "bios");
    // A profile that lists its firmware boots the guest's only when it offers it.
    TargetProfile xen = target_offering("aws-xen", {"bios"});
    CHECK(xen.boot_test.for_guest("uefi").firmware == "bios");
  }
}
