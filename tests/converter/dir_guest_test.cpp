#include "converter/dir_guest.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <doctest/doctest.h>

#include "tests/test_util.hpp"

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("guest symlinks never lead out of the guest root")
  {
    test::TempDir tmp;
    // A host file the guest must never reach, and a guest file of the same name.
    tmp.write("host-secret", "HOST\n");
    tmp.write("root/etc/passwd", "guest passwd\n");
    tmp.write("root/host-secret", "guest secret\n");
    auto root = tmp.path() / "root";
    std::filesystem::create_symlink("/../../host-secret", root / "etc/absolute");
    std::filesystem::create_symlink("../../../../host-secret", root / "etc/relative");
    std::filesystem::create_symlink((tmp.path() / "host-secret").string(), root / "etc/hostpath");
    std::filesystem::create_symlink("loop2", root / "etc/loop1");
    std::filesystem::create_symlink("loop1", root / "etc/loop2");
    std::filesystem::create_symlink("passwd", root / "etc/fstab");
    auto guest = DirGuest::open(root.string());
    REQUIRE(guest);
    CHECK((*guest)->read_file("/etc/absolute", 1024) == "guest secret\n");
    CHECK((*guest)->read_file("/etc/relative", 1024) == "guest secret\n");
    CHECK((*guest)->read_file("/etc/fstab", 1024) == "guest passwd\n");
    // An absolute host path is resolved inside the guest, where it does not exist.
    CHECK_FALSE((*guest)->read_file("/etc/hostpath", 1024).has_value());
    CHECK_FALSE((*guest)->read_file("/etc/loop1", 1024).has_value());
    CHECK((*guest)->stat("/etc/loop1")->type == FileType::missing);
    CHECK((*guest)->lstat("/etc/loop1")->type == FileType::symlink);
    CHECK((*guest)->read_file("/../../host-secret", 1024) == "guest secret\n");
  }

  TEST_CASE("writing through a guest symlink replaces the link, never the host file")
  {
    test::TempDir tmp;
    tmp.write("host-file", "HOST\n");
    tmp.write("root/etc/.keep", "");
    auto root = tmp.path() / "root";
    std::filesystem::create_symlink((tmp.path() / "host-file").string(), root / "etc/fstab");
    auto guest = DirGuest::open(root.string());
    REQUIRE(guest);
    REQUIRE((*guest)->write_file("/etc/fstab", "new\n", 0644));
    CHECK(test::read_file((tmp.path() / "host-file").string()) == "HOST\n");
    CHECK(test::read_file((root / "etc/fstab").string()) == "new\n");
    CHECK_FALSE(std::filesystem::is_symlink(root / "etc/fstab"));
  }

  TEST_CASE("reads are limited and refuse devices and FIFOs")
  {
    test::TempDir tmp;
    tmp.write("root/big", std::string(5000, 'x'));
    auto root = tmp.path() / "root";
    REQUIRE(mkfifo((root / "fifo").c_str(), 0600) == 0);
    std::filesystem::create_symlink("/dev/zero", root / "zero");
    auto guest = DirGuest::open(root.string());
    REQUIRE(guest);
    auto big = (*guest)->read_file("/big", 100);
    REQUIRE_FALSE(big.has_value());
    CHECK(big.error().message.find("larger than 100 bytes") != std::string::npos);
    CHECK((*guest)->read_head("/big", 10) == std::string(10, 'x'));
    CHECK_FALSE((*guest)->read_file("/fifo", 100).has_value());
    // /dev/zero inside the guest root does not exist; the host's is never opened.
    CHECK_FALSE((*guest)->read_file("/zero", 100).has_value());
  }

  TEST_CASE("list, make_dirs, rename, copy and remove stay inside the root")
  {
    test::TempDir tmp;
    tmp.write("root/a/file", "1");
    auto guest = DirGuest::open((tmp.path() / "root").string());
    REQUIRE(guest);
    Guest& g = **guest;
    REQUIRE(g.make_dirs("/b/c"));
    REQUIRE(g.copy("/a/file", "/b/c/copy"));
    CHECK(g.read_file("/b/c/copy", 10) == "1");
    REQUIRE(g.rename("/b/c/copy", "/b/moved"));
    CHECK(g.list_dir("/b") == std::vector<std::string>{"c", "moved"});
    REQUIRE(g.remove("/b/moved"));
    REQUIRE(g.remove("/b/missing"));
    CHECK_FALSE(exists(g, "/b/moved"));
    CHECK(is_dir(g, "/b/c"));
    CHECK_FALSE(g.run({"true"}, std::chrono::seconds(1)).has_value());
  }
}
