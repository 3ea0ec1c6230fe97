// More bad input and hostile guests, through the native backend (fast) where it applies: each
// gets its exit code and one error line, the source stays byte-identical, nothing is left.
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "converter/native_disk.hpp"
#include "tests/integration/phony.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

bool native_here()
{
  std::string why;
  if (rehost::NativeDisk::available(&why) && rehost::test::have_tool_or_skip("busybox")) {
    return true;
  }
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    FAIL("CI: the native backend is not available: " << why);
  }
  MESSAGE("skipped: " << why);
  return false;
}

struct Outcome {
  int code;
  std::string error;
  std::string err;
};

Outcome convert(const std::string& source, const std::string& output,
                std::vector<std::string> extra = {})
{
  std::vector<std::string> args = {"--backend", "native"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {"convert", source, "--target", "kvm", "-o", output});
  auto r = run_rehost(args);
  CHECK(r.err.find("terminate called") == std::string::npos);
  CHECK(r.err.find("internal error") == std::string::npos);
  CHECK_FALSE(fs::exists(output));
  return {r.exit_code, single_error_line(r.err), r.err};
}

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("a disk of zeros, and a vmdk whose extent is missing")
  {
    TempDir dir;
    std::string zeros = dir.str() + "/zeros.img";
    must_run({"truncate", "-s", "32M", zeros});
    auto o = convert(zeros, dir.str() + "/out.qcow2");
    CHECK(o.code == 3);
    CHECK(o.error.find("holds no partition table and no file system") != std::string::npos);

    std::string vmdk = dir.write(
        "broken.vmdk", "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                       "createType=\"monolithicFlat\"\n\n"
                       "RW 65536 FLAT \"gone-flat.vmdk\" 0\n\nddb.virtualHWVersion = \"4\"\n");
    auto v = convert(vmdk, dir.str() + "/out2.qcow2");
    CHECK(v.code == 3);
    CHECK(v.error.find("broken.vmdk: not a readable disk image") != std::string::npos);
  }

  TEST_CASE("two operating systems: --root picks one, and the error lists both")
  {
    if (!native_here()) {
      return;
    }
    TempDir dir;
    std::string a = write_runnable_debian(dir, "a");
    std::string b = write_runnable_debian(dir, "b");
    std::string disk = make_ext4_disk_multi(dir, "two.img", {a, b});
    std::string before = sha256_of(disk);
    auto o = convert(disk, dir.str() + "/out.qcow2");
    CHECK(o.code == 4);
    CHECK(o.error.find("holds 2 operating systems (/dev/sda1, /dev/sda2); choose one with --root")
          != std::string::npos);
    auto wrong = run_rehost({"--backend", "native", "inspect", "--root", "/dev/sda3", disk});
    CHECK(wrong.exit_code == 2);
    CHECK(single_error_line(wrong.err).find("--root /dev/sda3: not an operating system root")
          != std::string::npos);
    auto picked =
        run_rehost({"--backend", "native", "inspect", "--json", "--root", "/dev/sda2", disk});
    REQUIRE(picked.exit_code == 0);
    CHECK(nlohmann::json::parse(picked.out)["disk"]["root"] == "/dev/sda2");
    CHECK(sha256_of(disk) == before);
  }

  TEST_CASE("a full root file system stops the conversion before anything is written, exit 5")
  {
    if (!native_here()) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    std::string disk = make_ext4_disk(dir, "full.img", tree, 24);
    // Fill the file system inside the image, through a writable copy we then use as source.
    must_run({"sh", "-c",
              "d=$(mktemp -d) && mount -o loop,offset=1048576 " + disk
                  + " $d && (dd if=/dev/zero of=$d/filler bs=1M 2>/dev/null; true) && sync && "
                    "umount $d && rmdir $d"});
    std::string before = sha256_of(disk);
    std::string report = dir.str() + "/report.json";
    auto o = convert(disk, dir.str() + "/out.qcow2", {});
    INFO(o.err);
    CHECK(o.code == 5);
    CHECK(o.error.find("the file system holding /boot has") != std::string::npos);
    CHECK(o.error.find("free some space") != std::string::npos);
    CHECK(sha256_of(disk) == before);
  }

  TEST_CASE("a guest command that hangs is stopped after the command timeout")
  {
    if (!native_here()) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    dir.write("root/etc/stub-sleep", "3600\n");
    std::string disk = make_ext4_disk(dir, "hang.img", tree);
    auto start = std::chrono::steady_clock::now();
    auto o = convert(disk, dir.str() + "/out.qcow2", {"--command-timeout", "2"});
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(o.code == 5);
    CHECK(o.error.find("did not finish within 2 s and was stopped") != std::string::npos);
    CHECK(seconds < 30);
  }

  TEST_CASE("an output directory that is read-only, or too small")
  {
    if (geteuid() != 0) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    std::string disk = make_ext4_disk(dir, "src.img", tree);
    fs::create_directories(dir.path() / "ro");
    fs::create_directories(dir.path() / "tiny");
    REQUIRE(mount("tmpfs", (dir.path() / "ro").c_str(), "tmpfs", MS_RDONLY, "size=1m") == 0);
    REQUIRE(mount("tmpfs", (dir.path() / "tiny").c_str(), "tmpfs", 0, "size=64k") == 0);
    auto ro = convert(disk, dir.str() + "/ro/out.qcow2");
    CHECK(ro.code == 8);
    CHECK(ro.error.find("ro/out.qcow2") != std::string::npos);
    auto tiny = run_rehost({"--backend", "native", "convert", disk, "--target", "kvm", "-o",
                            dir.str() + "/tiny/out.qcow2"});
    INFO(tiny.err);
    CHECK(tiny.exit_code != 0);
    CHECK_FALSE(single_error_line(tiny.err).empty());
    CHECK_FALSE(fs::exists(dir.path() / "tiny/out.qcow2"));
    CHECK(fs::is_empty(dir.path() / "tiny"));
    umount((dir.path() / "ro").c_str());
    umount((dir.path() / "tiny").c_str());
  }

  TEST_CASE("hostile guest: symlinks out of the guest, device nodes, odd names, huge files")
  {
    if (!native_here()) {
      return;
    }
    TempDir dir;
    // Host files the guest aims at; their contents must not change and never be read.
    std::string host_file = dir.write("host-secret", "HOST SECRET\n");
    std::string host_before = sha256_of(host_file);
    std::string tree = write_runnable_debian(dir, "root");
    fs::path root(tree);
    fs::remove(root / "etc/network/interfaces");
    fs::create_symlink(host_file, root / "etc/network/interfaces");
    fs::remove(root / "etc/initramfs-tools/modules");
    fs::create_symlink("/../../../../../../" + host_file, root / "etc/initramfs-tools/modules");
    fs::create_symlink("loop-b", root / "etc/loop-a");
    fs::create_symlink("loop-a", root / "etc/loop-b");
    fs::create_directories(root / "etc/SuSE-release"); // a release file that is a directory
    dir.write("root/boot/vmlinuz-\nodd\xff", "not a kernel\n");
    // A 2 GiB sparse grub.cfg and a device node where a release file should be.
    fs::remove(root / "boot/grub/grub.cfg");
    must_run({"truncate", "-s", "2G", (root / "boot/grub/grub.cfg").string()});
    must_run({"mknod", (root / "etc/lsb-release").string(), "c", "1", "5"});
    std::string disk = make_ext4_disk(dir, "hostile.img", tree, 64);
    std::string before = sha256_of(disk);

    auto inspect = run_rehost({"--backend", "native", "inspect", "--json", disk});
    INFO(inspect.err);
    REQUIRE(inspect.exit_code == 0);
    auto j = nlohmann::json::parse(inspect.out);
    CHECK(j["os"]["id"] == "debian");
    std::string warnings = j["warnings"].dump();
    CHECK(warnings.find("grub.cfg") != std::string::npos);
    CHECK(inspect.out.find("HOST SECRET") == std::string::npos);

    std::string output = dir.str() + "/out.qcow2";
    auto r = run_rehost({"--backend", "native", "convert", disk, "--target", "kvm", "-o", output,
                         "--report", dir.str() + "/report.json"});
    INFO(r.err);
    CHECK(r.err.find("internal error") == std::string::npos);
    CHECK(r.err.find("HOST SECRET") == std::string::npos);
    CHECK(read_file(dir.str() + "/report.json").find("HOST SECRET") == std::string::npos);
    CHECK(sha256_of(host_file) == host_before);
    CHECK(sha256_of(disk) == before);
  }
}
