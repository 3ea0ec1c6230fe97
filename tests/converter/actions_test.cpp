#include "converter/actions.hpp"
#include <set>

#include <doctest/doctest.h>

#include "converter/action_support.hpp"
#include "converter/dir_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("tail_lines keeps the last lines, whatever the text")
  {
    CHECK(tail_lines("", 3) == "");
    CHECK(tail_lines("\n", 3) == "\n");
    CHECK(tail_lines("one", 3) == "one");
    CHECK(tail_lines("a\nb\nc\nd\n", 2) == "c\nd\n");
    CHECK(tail_lines("a\nb\nc\nd", 2) == "c\nd");
    CHECK(tail_lines("a\nb\n", 5) == "a\nb\n");
    CHECK(tail_lines("a\nb\n", 0) == "");
  }

  TEST_CASE("expand substitutes variables and splices list variables")
  {
    Vars vars = {{"packages", {"open-vm-tools", "open-vm-tools-desktop"}},
                 {"kernel.version", {"6.1.0-13-amd64"}}};
    CHECK(expand({"dpkg", "--purge", "${packages}"}, vars)
          == std::vector<std::string>{"dpkg", "--purge", "open-vm-tools", "open-vm-tools-desktop"});
    CHECK(expand({"-k", "/boot/initrd.img-${kernel.version}"}, vars)
          == std::vector<std::string>{"-k", "/boot/initrd.img-6.1.0-13-amd64"});
    CHECK(expand({"${unknown}"}, vars) == std::vector<std::string>{"${unknown}"});
  }

  TEST_CASE("every action type has a schema and an implementation")
  {
    std::set<std::string> names;
    for (const auto& t : action_types()) {
      CHECK(static_cast<bool>(t.run));
      CHECK(std::string(t.spec.description).size() > 10);
      CHECK(names.insert(t.spec.type).second); // no duplicates
    }
    CHECK(names.count("fstab_to_uuid"));
    CHECK(names.count("rebuild_initramfs"));
  }

  TEST_CASE("edit_guest_file records a diff and leaves unchanged files alone")
  {
    test::TempDir dir;
    dir.write("root/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n");
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    Inspection in;
    TargetProfile target;
    ActionContext context{**guest, in, target};
    ActionRecord record;
    auto same = edit_guest_file(context, record, "/etc/fstab", MissingFile::skip,
                                [](const std::string& t) -> Result<std::string> { return t; });
    CHECK(same);
    CHECK(record.changes.empty());
    auto r = edit_guest_file(context, record, "/etc/fstab", MissingFile::skip,
                             [](const std::string&) -> Result<std::string> {
                               return std::string("UUID=x / ext4 defaults 0 1\n");
                             });
    REQUIRE(r);
    REQUIRE(record.changes.size() == 1);
    CHECK(record.changes[0].kind == "modified");
    CHECK(record.changes[0].diff.find("+UUID=x / ext4") != std::string::npos);
    CHECK(test::read_file(dir.str() + "/root/etc/fstab") == "UUID=x / ext4 defaults 0 1\n");
    // A missing file is skipped or created, as asked.
    CHECK(edit_guest_file(
        context, record, "/etc/none", MissingFile::skip,
        [](const std::string&) -> Result<std::string> { return std::string("x"); }));
    CHECK_FALSE(std::filesystem::exists(dir.str() + "/root/etc/none"));
    CHECK(edit_guest_file(
        context, record, "/etc/new/file", MissingFile::create,
        [](const std::string&) -> Result<std::string> { return std::string("x\n"); }));
    CHECK(test::read_file(dir.str() + "/root/etc/new/file") == "x\n");
    CHECK(record.changes.back().kind == "created");
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("edit_guest_file writes where a symbolic link points and keeps the link")
  {
    test::TempDir dir;
    dir.write("root/boot/efi/EFI/redhat/grubenv", "old\n");
    std::filesystem::create_directories(dir.path() / "root/boot/grub2");
    std::filesystem::create_symlink("../efi/EFI/redhat/grubenv",
                                    dir.path() / "root/boot/grub2/grubenv");
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    Inspection in;
    TargetProfile target;
    ActionContext context{**guest, in, target};
    ActionRecord record;
    REQUIRE(edit_guest_file(
        context, record, "/boot/grub2/grubenv", MissingFile::skip,
        [](const std::string&) -> Result<std::string> { return std::string("new\n"); }));
    CHECK(std::filesystem::is_symlink(dir.path() / "root/boot/grub2/grubenv"));
    CHECK(test::read_file(dir.str() + "/root/boot/efi/EFI/redhat/grubenv") == "new\n");
    REQUIRE(record.changes.size() == 1);
    CHECK(record.changes[0].path == "/boot/efi/EFI/redhat/grubenv");
  }
}
