#include "converter/shell_vars.hpp"

#include <doctest/doctest.h>

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("shell_unquote handles the quoting of os-release and /etc/default files")
  {
    CHECK(shell_unquote("\"Debian GNU/Linux\"") == "Debian GNU/Linux");
    CHECK(shell_unquote("'single $HOME'") == "single $HOME");
    CHECK(shell_unquote("bare\\ word") == "bare word");
    CHECK(shell_unquote("\"a\\\"b\\\\c\\$d\"") == "a\"b\\c$d");
    CHECK(shell_unquote("\"a\"'b'c") == "abc");
  }

  TEST_CASE("parse_shell_vars reads assignments and lets later ones win")
  {
    auto vars =
        parse_shell_vars("# comment\nNAME=\"Debian GNU/Linux\"\nexport ID=debian\nID=ubuntu\n"
                         "not an assignment\n1X=bad\n");
    CHECK(vars["NAME"] == "Debian GNU/Linux");
    CHECK(vars["ID"] == "ubuntu");
    CHECK(vars.count("1X") == 0);
  }

  TEST_CASE("set_shell_var edits in place and keeps every other byte")
  {
    const std::string grub = "# If you change this file, run 'update-grub'\n"
                             "GRUB_DEFAULT=0\n"
                             "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"  # keep me\n"
                             "GRUB_CMDLINE_LINUX=\"\"\n"
                             "\n#GRUB_DISABLE_LINUX_UUID=true\n";
    std::string out = set_shell_var(grub, "GRUB_CMDLINE_LINUX", "console=ttyS0 root=UUID=x");
    CHECK(out
          == "# If you change this file, run 'update-grub'\n"
             "GRUB_DEFAULT=0\n"
             "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"  # keep me\n"
             "GRUB_CMDLINE_LINUX=\"console=ttyS0 root=UUID=x\"\n"
             "\n#GRUB_DISABLE_LINUX_UUID=true\n");
    // A commented-out assignment is not an assignment: a new line is appended.
    std::string added = set_shell_var(grub, "GRUB_DISABLE_LINUX_UUID", "false");
    CHECK(added == grub + "GRUB_DISABLE_LINUX_UUID=false\n");
    CHECK(shell_var(added, "GRUB_DISABLE_LINUX_UUID") == "false");
  }

  TEST_CASE("set_shell_var rewrites the last of several assignments, with quotes as needed")
  {
    std::string text = "A=1\nA=2\nB=x\n";
    CHECK(set_shell_var(text, "A", "two words") == "A=1\nA=\"two words\"\nB=x\n");
    CHECK(set_shell_var("A='x'\n", "A", "y z") == "A='y z'\n");
    CHECK(set_shell_var("A=\"x\"", "A", "a\"b") == "A=\"a\\\"b\"");
  }

  TEST_CASE("unset_shell_var removes whole lines")
  {
    CHECK(unset_shell_var("A=1\nB=2\nA=3\n", "A") == "B=2\n");
    CHECK(unset_shell_var("B=2\n", "A") == "B=2\n");
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("words are added to a word-list variable once, keeping its quoting")
  {
    // /etc/sysconfig/kernel of SLES 11 (mkinitrd).
    std::string text = "## Type: string\nINITRD_MODULES=\"ahci ata_piix sd_mod\"\n"
                       "DOMU_INITRD_MODULES=\"xennet xenblk\"\n";
    CHECK(shell_var_has_word(text, "INITRD_MODULES", "ata_piix"));
    CHECK_FALSE(shell_var_has_word(text, "INITRD_MODULES", "ata"));
    CHECK(add_shell_var_words(text, "INITRD_MODULES", {"sd_mod", "virtio_blk", "virtio_blk"})
          == "## Type: string\nINITRD_MODULES=\"ahci ata_piix sd_mod virtio_blk\"\n"
             "DOMU_INITRD_MODULES=\"xennet xenblk\"\n");
    CHECK(add_shell_var_words(text, "INITRD_MODULES", {"ahci"}) == text);
    CHECK(add_shell_var_words("X=1\n", "INITRD_MODULES", {"nvme"}) == "X=1\n");
    CHECK(add_shell_var_words("INITRD_MODULES=\"\"\n", "INITRD_MODULES", {"nvme"})
          == "INITRD_MODULES=\"nvme\"\n");
  }

  TEST_CASE("set_shell_var_checked refuses an edit that a quote left open would swallow")
  {
    // Found by fuzz_initramfs_config: INITRD_MODULES= appended after `B="open` was read as part
    // of B's value.
    std::string text = "A=\"one\ntwo\"\nB=\"open";
    CHECK(shell_var(text, "A") == "one\ntwo");
    auto refused = set_shell_var_checked(text, "MODULES", "nvme ena");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("never closed") != std::string::npos);
    auto fine = set_shell_var_checked("A=1\n", "MODULES", "nvme ena");
    REQUIRE(fine);
    CHECK(*fine == "A=1\nMODULES=\"nvme ena\"\n");
  }
}
