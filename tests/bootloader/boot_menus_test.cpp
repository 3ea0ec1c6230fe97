#include "bootloader/boot_menus.hpp"

#include <doctest/doctest.h>

using namespace rehost::bootloader;

TEST_SUITE("unit")
{
  TEST_CASE("a BLS entry and grubenv's kernelopts give the kernel command line")
  {
    auto e = read_bls_entry("abc-4.18.0-513.el8.x86_64",
                            "title Red Hat Enterprise Linux (4.18.0-513.el8.x86_64) 8.9 (Ootpa)\n"
                            "version 4.18.0-513.el8.x86_64\nlinux /vmlinuz-4.18.0-513.el8.x86_64\n"
                            "initrd /initramfs-4.18.0-513.el8.x86_64.img $tuned_initrd\n"
                            "options $kernelopts $tuned_params\ngrub_users $grub_users\n");
    CHECK(e.version == "4.18.0-513.el8.x86_64");
    CHECK(e.kernel == "/vmlinuz-4.18.0-513.el8.x86_64");
    CHECK(e.initrds
          == std::vector<std::string>{"/initramfs-4.18.0-513.el8.x86_64.img", "$tuned_initrd"});
    auto env = read_grubenv("# GRUB Environment Block\nsaved_entry=abc-4.18.0-513.el8.x86_64\n"
                            "kernelopts=root=/dev/mapper/rhel-root ro crashkernel=auto\n"
                            "####################\n");
    CHECK(env["saved_entry"] == "abc-4.18.0-513.el8.x86_64");
    CHECK(expand_grub_vars(e.args, env) == "root=/dev/mapper/rhel-root ro crashkernel=auto");
    CHECK(expand_grub_vars("a ${x} $y $ z", {{"x", "1"}}) == "a 1 $ z");
    CHECK(expand_grub_vars("unterminated ${x", {}) == "unterminated ${x");
  }

  TEST_CASE("grub legacy: default index, device prefixes, saved")
  {
    auto menu =
        read_grub_legacy_menu("default=1\ntimeout=5\nhiddenmenu\n"
                              "title CentOS (2.6.32-754.35.1.el6.x86_64)\n\troot (hd0,0)\n"
                              "\tkernel /vmlinuz-2.6.32-754.35.1.el6.x86_64 ro root=/dev/sda2\n"
                              "\tinitrd /initramfs-2.6.32-754.35.1.el6.x86_64.img\n"
                              "title CentOS (2.6.32-754.el6.x86_64)\n"
                              "\tkernel (hd0,0)/vmlinuz-2.6.32-754.el6.x86_64 ro quiet\n");
    REQUIRE(menu.entries.size() == 2);
    CHECK(menu.default_value == "1");
    auto e = default_menu_entry(menu);
    REQUIRE(e);
    CHECK(e->kernel == "/vmlinuz-2.6.32-754.el6.x86_64");
    CHECK(e->args == "ro quiet");
    CHECK(read_grub_legacy_menu("default saved\ntitle x\nkernel /vmlinuz-1 a\n").default_value
          == "saved");
    // An index past the end falls back to the first entry.
    menu.default_value = "7";
    CHECK(default_menu_entry(menu)->title == "CentOS (2.6.32-754.35.1.el6.x86_64)");
  }

  TEST_CASE("extlinux: DEFAULT label, MENU DEFAULT, initrd= inside APPEND")
  {
    auto menu = read_extlinux_menu(
        "DEFAULT l1\nTIMEOUT 50\nLABEL l0\n  MENU LABEL Debian, kernel 6.1.0-17\n"
        "  LINUX /boot/vmlinuz-6.1.0-17-amd64\n"
        "  APPEND initrd=/boot/initrd.img-6.1.0-17-amd64 root=/dev/vda1 ro\n"
        "label l1\n  kernel /boot/vmlinuz-6.1.0-13-amd64\n"
        "  append root=UUID=1 ro quiet\n  initrd /boot/initrd.img-6.1.0-13-amd64\n");
    REQUIRE(menu.entries.size() == 2);
    CHECK(menu.entries[0].title == "Debian, kernel 6.1.0-17");
    CHECK(menu.entries[0].args == "root=/dev/vda1 ro");
    CHECK(menu.entries[0].initrds == std::vector<std::string>{"/boot/initrd.img-6.1.0-17-amd64"});
    auto e = default_menu_entry(menu);
    REQUIRE(e);
    CHECK(e->kernel == "/boot/vmlinuz-6.1.0-13-amd64");
    auto menu2 = read_extlinux_menu(
        "ui menu.c32\nlabel a\n kernel /a\nlabel b\n menu default\n kernel /b\n");
    CHECK(default_menu_entry(menu2)->kernel == "/b");
  }

  TEST_CASE("systemd-boot: loader.conf default as an id, with .conf, or a glob")
  {
    BootMenu menu;
    menu.entries = {
        read_bls_entry("arch", "title Arch Linux\nlinux /vmlinuz-linux\n"),
        read_bls_entry("arch-lts", "title Arch Linux (LTS)\nlinux /vmlinuz-linux-lts\n")};
    menu.default_value = loader_conf_default("# comment\ndefault arch-lts.conf\ntimeout 3\n");
    CHECK(default_menu_entry(menu)->id == "arch-lts");
    menu.default_value = "arch-l*";
    CHECK(default_menu_entry(menu)->id == "arch-lts");
    // A pattern that would make fnmatch backtrack for ages is not tried.
    menu.default_value = std::string(200, '*') + "x";
    CHECK(default_menu_entry(menu)->id == "arch");
    menu.default_value = "nothing-matches";
    CHECK(default_menu_entry(menu)->id == "arch");
    CHECK_FALSE(default_menu_entry(BootMenu{}).has_value());
  }
}
