#include "bootloader/grubenv.hpp"

#include <doctest/doctest.h>

using namespace rehost::bootloader;

namespace {

std::string block(const std::string& lines)
{
  std::string text = "# GRUB Environment Block\n" + lines;
  text.append(k_grubenv_size - text.size(), '#');
  return text;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("grubenv of RHEL 8 gives saved_entry and kernelopts")
  {
    std::string text = block("saved_entry=3f1c2a-4.18.0-348.el8.x86_64\n"
                             "kernelopts=root=/dev/mapper/rhel-root ro crashkernel=auto "
                             "resume=/dev/mapper/rhel-swap rhgb quiet\n"
                             "boot_success=0\n");
    CHECK(grubenv_get(text, "saved_entry") == "3f1c2a-4.18.0-348.el8.x86_64");
    CHECK(grubenv_get(text, "kernelopts")->starts_with("root=/dev/mapper/rhel-root ro"));
    CHECK_FALSE(grubenv_get(text, "next_entry"));
    CHECK(parse_grubenv(text).size() == 3);
  }

  TEST_CASE("setting a grubenv variable keeps the 1024-byte block and the other variables")
  {
    std::string text = block("saved_entry=old\nboot_success=0\n");
    auto out = grubenv_set(text, "saved_entry", "new-entry");
    REQUIRE(out);
    CHECK(out->size() == k_grubenv_size);
    CHECK(*out == block("saved_entry=new-entry\nboot_success=0\n"));
    auto added = grubenv_set(*out, "kernelopts", "root=UUID=1 ro");
    REQUIRE(added);
    CHECK(*added == block("saved_entry=new-entry\nboot_success=0\nkernelopts=root=UUID=1 ro\n"));
    CHECK(grubenv_unset(*added, "boot_success")
          == block("saved_entry=new-entry\nkernelopts=root=UUID=1 ro\n"));
  }

  TEST_CASE("a missing grubenv becomes a fresh block")
  {
    auto out = grubenv_set("", "saved_entry", "0");
    REQUIRE(out);
    CHECK(*out == block("saved_entry=0\n"));
  }

  TEST_CASE("grubenv values escape backslashes and newlines")
  {
    auto out = grubenv_set("", "x", "a\\b\nc");
    REQUIRE(out);
    CHECK(out->find("x=a\\\\b\\nc\n") != std::string::npos);
    CHECK(grubenv_get(*out, "x") == "a\\b\nc");
  }

  TEST_CASE("a grubenv value that does not fit the block is an error, not a bigger file")
  {
    auto out = grubenv_set(block(""), "kernelopts", std::string(1100, 'a'));
    REQUIRE_FALSE(out);
    CHECK(out.error().message.find("1024-byte block") != std::string::npos);
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("setting a grubenv variable drops its later duplicates, which grub would prefer")
  {
    auto out = grubenv_set(block("saved_entry=a\nx=1\nsaved_entry=b\n"), "saved_entry", "c");
    REQUIRE(out);
    CHECK(*out == block("saved_entry=c\nx=1\n"));
  }
}
