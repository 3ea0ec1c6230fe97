// Guests of other families than the phony Debian, as disks read through libguestfs: a few
// fixtures of tests/fixtures/linux/ are written to an ext4 disk and inspected by the appliance,
// which must see them as the directory backend does.
#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "tests/fixture_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;

TEST_SUITE("integration")
{
  TEST_CASE("fixture guests of each family inspect the same through libguestfs")
  {
    if (!have_tool_or_skip("qemu-system-x86_64")) {
      return;
    }
    // One of each kind of boot setup: BLS (RHEL 9), grub legacy (CentOS 6), grub2 with the
    // SUSE layout, grub2 on a Debian-family UEFI guest. Every fixture is inspected through the
    // directory backend by the unit tier; what this adds is the appliance's file access.
    for (const char* name :
         {"rhel-9.4-uefi", "centos-6.10", "sles-15.5", "ubuntu-22.04-aws-uefi"}) {
      std::string fixture = name;
      CAPTURE(fixture);
      TempDir dir;
      auto path = std::filesystem::path(REHOST_SOURCE_DIR) / "tests/fixtures/linux"
                  / (std::string(name) + ".guest");
      Fixture f = build_fixture(read_fixture(path), dir.path() / "root");
      REQUIRE(f.problems.empty());
      // The disk has one file system; the fixture's fstab names volumes it does not have.
      std::filesystem::remove(dir.path() / "root/etc/fstab");
      dir.write("root/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n");
      std::string img = make_ext4_disk(dir, "guest.img", (dir.path() / "root").string());
      auto r = run_rehost({"--backend", "guestfs", "inspect", "--json", img});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      auto j = nlohmann::json::parse(r.out);
      // A disk adds what a directory does not have (partitions); warnings may differ.
      for (const auto& m : fixture_mismatches(j, f.expect, {"warnings"})) {
        FAIL_CHECK(m);
      }
    }
  }
}
