#include "bootloader/fstab.hpp"

#include <doctest/doctest.h>

using namespace rehost::bootloader;

namespace {

const char* k_debian_fstab =
    "# /etc/fstab: static file system information.\n"
    "#\n"
    "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"
    "/dev/sda1       /               ext4    errors=remount-ro 0       1\n"
    "/dev/sda2       none            swap    sw              0       0\n"
    "/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto 0       0\n"
    ".host:/         /mnt/hgfs       fuse.vmhgfs-fuse allow_other 0 0\n"
    "tmpfs /tmp tmpfs defaults 0 0";

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("parse_fstab finds entries with their lines and fields")
  {
    auto entries = parse_fstab(k_debian_fstab);
    REQUIRE(entries.size() == 5);
    CHECK(entries[0].line == 4);
    CHECK(entries[0].spec() == "/dev/sda1");
    CHECK(entries[0].mountpoint() == "/");
    CHECK(entries[0].type() == "ext4");
    CHECK(entries[2].has_option("noauto"));
    CHECK_FALSE(entries[0].has_option("nofail"));
    CHECK(entries[4].spec() == "tmpfs"); // no final newline
  }

  TEST_CASE("apply_fstab_edits changes only the edited fields, byte for byte elsewhere")
  {
    std::string out = apply_fstab_edits(
        k_debian_fstab, {{4, 0, "UUID=8b29-x"}, {5, 0, "UUID=swap"}, {5, 3, "sw,nofail"}});
    std::string expected = k_debian_fstab;
    expected.replace(expected.find("/dev/sda1"), 9, "UUID=8b29-x");
    expected.replace(expected.find("/dev/sda2"), 9, "UUID=swap");
    expected.replace(expected.find("    sw  ") + 4, 2, "sw,nofail");
    CHECK(out == expected);
  }

  TEST_CASE("comment_out_fstab_line keeps the entry visible with a reason")
  {
    auto entries = parse_fstab(k_debian_fstab);
    std::string out =
        comment_out_fstab_line(k_debian_fstab, entries[3], "Disabled: no shared folders");
    CHECK(out.find("# Disabled: no shared folders\n#.host:/         /mnt/hgfs")
          != std::string::npos);
    CHECK(parse_fstab(out).size() == 4);
  }
}
