#include "bootloader/bls.hpp"

#include <doctest/doctest.h>

using namespace rehost::bootloader;

namespace {

// /boot/loader/entries/<machine-id>-5.14.0-362.8.1.el9_3.x86_64.conf on RHEL 9.
const std::string k_rhel9 = "title Red Hat Enterprise Linux (5.14.0-362.8.1.el9_3.x86_64) 9.3 "
                            "(Plow)\n"
                            "version 5.14.0-362.8.1.el9_3.x86_64\n"
                            "linux /vmlinuz-5.14.0-362.8.1.el9_3.x86_64\n"
                            "initrd /initramfs-5.14.0-362.8.1.el9_3.x86_64.img $tuned_initrd\n"
                            "options root=/dev/sda2 ro console=tty0 crashkernel=1G-4G:192M "
                            "resume=/dev/sda3 rhgb quiet $tuned_params\n"
                            "grub_users $grub_users\n"
                            "grub_arg --unrestricted\n"
                            "grub_class rhel\n";

// RHEL 8 before 8.7: the arguments come from grubenv.
const std::string k_rhel8 = "title Red Hat Enterprise Linux (4.18.0-348.el8.x86_64) 8.5 (Ootpa)\n"
                            "version 4.18.0-348.el8.x86_64\n"
                            "linux /vmlinuz-4.18.0-348.el8.x86_64\n"
                            "initrd /initramfs-4.18.0-348.el8.x86_64.img $tuned_initrd\n"
                            "options $kernelopts $tuned_params\n"
                            "id rhel-20211001000000-4.18.0-348.el8.x86_64\n";

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("a BLS entry gives its title, version, kernel, initrd and options")
  {
    auto e = parse_bls_entry(k_rhel9);
    CHECK(e.version == "5.14.0-362.8.1.el9_3.x86_64");
    CHECK(e.linux_path == "/vmlinuz-5.14.0-362.8.1.el9_3.x86_64");
    REQUIRE(e.initrds.size() == 1);
    CHECK(e.initrds[0] == "/initramfs-5.14.0-362.8.1.el9_3.x86_64.img $tuned_initrd");
    CHECK(e.options.starts_with("root=/dev/sda2 ro"));
    CHECK(bls_get(k_rhel9, "grub_class") == "rhel");
  }

  TEST_CASE("BLS options: console replaced, nvme timeout added, root and resume to UUID")
  {
    CmdlineEdit edit;
    edit.remove = {"console", "nvme_core.io_timeout"};
    edit.add = {"console=ttyS0,115200n8", "nvme_core.io_timeout=4294967295"};
    edit.devices = [](const std::string& dev) -> std::optional<std::string> {
      if (dev == "/dev/sda2") {
        return "UUID=root-uuid";
      }
      if (dev == "/dev/sda3") {
        return "UUID=swap-uuid";
      }
      return std::nullopt;
    };
    std::string out = bls_edit_options(k_rhel9, edit);
    std::string expected = k_rhel9;
    expected.replace(expected.find("options "),
                     expected.find("\ngrub_users") - expected.find("options "),
                     "options root=UUID=root-uuid ro crashkernel=1G-4G:192M resume=UUID=swap-uuid "
                     "rhgb quiet $tuned_params console=ttyS0,115200n8 "
                     "nvme_core.io_timeout=4294967295");
    CHECK(out == expected);
    CHECK(bls_edit_options(out, edit) == out); // a second run changes nothing
  }

  TEST_CASE("BLS options that reference $kernelopts keep the reference")
  {
    CmdlineEdit edit;
    edit.add = {"console=ttyS0"};
    std::string out = bls_edit_options(k_rhel8, edit);
    CHECK(out.find("options $kernelopts $tuned_params console=ttyS0\n") != std::string::npos);
    CHECK(out.find("id rhel-20211001000000") != std::string::npos);
  }

  TEST_CASE("an entry without options gets a line with the additions")
  {
    CmdlineEdit edit;
    edit.add = {"rootdelay=300"};
    CHECK(bls_edit_options("title x\nlinux /vmlinuz", edit)
          == "title x\nlinux /vmlinuz\noptions rootdelay=300\n");
  }

  TEST_CASE("bls_set replaces the first value and keeps comments and spacing")
  {
    std::string text = "# generated\ntitle  Fedora\nlinux   /vmlinuz-6.5\n";
    CHECK(bls_set(text, "linux", "/vmlinuz-6.6")
          == "# generated\ntitle  Fedora\nlinux   /vmlinuz-6.6\n");
    CHECK(bls_set(text, "initrd", "/initramfs-6.6.img") == text + "initrd /initramfs-6.6.img\n");
  }

  TEST_CASE("a BLS entry id is the file name without .conf")
  {
    CHECK(bls_entry_id("/boot/loader/entries/abc-5.14.0.conf") == "abc-5.14.0");
  }
}
