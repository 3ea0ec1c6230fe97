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
}
