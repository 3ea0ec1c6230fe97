// Inspection of hostile or broken guests: a partial answer with warnings, never a crash or hang.
#include "converter/inspection.hpp"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
namespace fs = std::filesystem;

namespace {

bool has_warning(const Inspection& in, const std::string& part)
{
  return std::any_of(in.warnings.begin(), in.warnings.end(),
                     [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

// A small Debian-like root with one kernel, for the tests to break.
void write_base(const test::TempDir& tmp)
{
  tmp.write("root/bin/sh", std::string("\x7f"
                                       "ELF\2\1\1",
                                       7)
                               + std::string(11, '\0') + ">" + std::string(45, '\0'));
  tmp.write("root/boot/vmlinuz-6.1.0-13-amd64", "kernel");
  tmp.write("root/boot/initrd.img-6.1.0-13-amd64", "initrd");
  tmp.write("root/lib/modules/6.1.0-13-amd64/modules.dep",
            "kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko\n"
            "kernel/drivers/nvme/host/nvme-core.ko:\n");
  tmp.write("root/lib/modules/6.1.0-13-amd64/modules.builtin",
            "kernel/drivers/block/virtio_blk.ko\n");
}

std::optional<Inspection> inspect_dir(const test::TempDir& tmp)
{
  auto guest = DirGuest::open((tmp.path() / "root").string());
  REQUIRE(guest);
  return inspect_guest(**guest, DiskInfo{});
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("binary garbage in os-release: identified from another file, or as plain linux")
  {
    test::TempDir tmp;
    write_base(tmp);
    std::string garbage(4096, '\0');
    for (size_t i = 0; i < garbage.size(); ++i) {
      garbage[i] = static_cast<char>((i * 7919) & 0xff);
    }
    tmp.write("root/etc/os-release", garbage);
    auto in = inspect_dir(tmp);
    REQUIRE(in);
    CHECK(in->os.id == "linux");
    CHECK(in->os.arch == "x86_64");
    CHECK(has_warning(*in, "/etc/os-release is not a text file"));
    CHECK(has_warning(*in, "could not be identified"));
    // The rest of the inspection is still there.
    REQUIRE(in->kernels.size() == 1);
    CHECK(in->kernels[0].drivers.at("nvme") == drivers::DriverState::module);
    CHECK(in->kernels[0].drivers.at("virtio_blk") == drivers::DriverState::builtin);

    tmp.write("root/etc/debian_version", "11.7\n");
    auto deb = inspect_dir(tmp);
    REQUIRE(deb);
    CHECK(deb->os.id == "debian");
    CHECK(deb->os.minor == 7);
  }

  TEST_CASE("a release file that is a directory is skipped with a warning")
  {
    test::TempDir tmp;
    write_base(tmp);
    fs::create_directories(tmp.path() / "root/etc/os-release");
    tmp.write("root/etc/redhat-release", "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n");
    auto in = inspect_dir(tmp);
    REQUIRE(in);
    CHECK(in->os.id == "rhel");
    CHECK(in->os.major == 7);
    CHECK(has_warning(*in, "/etc/os-release is not a regular file"));
  }

  TEST_CASE("symlink loops in release, boot and network files: warnings, no hang")
  {
    test::TempDir tmp;
    write_base(tmp);
    tmp.write("root/etc/debian_version", "12.4\n");
    auto root = tmp.path() / "root";
    fs::create_symlink("os-release.b", root / "etc/os-release");
    fs::create_symlink("os-release", root / "etc/os-release.b");
    fs::create_directories(root / "boot/grub");
    fs::create_symlink("grub.cfg", root / "boot/grub/grub.cfg");
    fs::create_directories(root / "etc/network");
    fs::create_symlink("/etc/network/interfaces", root / "etc/network/interfaces");
    fs::create_directories(root / "etc/netplan");
    fs::create_symlink("/etc/netplan", root / "etc/netplan/loop.yaml");
    // A directory loop through a link is only followed as deep as the kernel allows.
    fs::create_symlink("..", root / "boot/up");
    auto start = std::chrono::steady_clock::now();
    auto in = inspect_dir(tmp);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    REQUIRE(in);
    CHECK(in->os.id == "debian");
    CHECK(has_warning(*in, "/etc/os-release is a symbolic link that leads nowhere"));
    CHECK(has_warning(*in, "/etc/network/interfaces is a symbolic link that leads nowhere"));
    CHECK(in->bootloader.empty());
    CHECK(in->default_kernel == "6.1.0-13-amd64");
  }

  TEST_CASE("a huge grub.cfg is read up to a cap, and its menu still found")
  {
    test::TempDir tmp;
    write_base(tmp);
    tmp.write("root/etc/debian_version", "12.4\n");
    std::string cfg = "set default=\"0\"\nmenuentry 'Debian GNU/Linux' {\n"
                      "\tlinux /boot/vmlinuz-6.1.0-13-amd64 root=/dev/vda1 ro quiet\n"
                      "\tinitrd /boot/initrd.img-6.1.0-13-amd64\n}\n";
    std::string filler = "# padding padding padding padding padding padding padding padding\n";
    while (cfg.size() < (6 << 20)) {
      cfg += filler;
    }
    tmp.write("root/boot/grub/grub.cfg", cfg);
    auto start = std::chrono::steady_clock::now();
    auto in = inspect_dir(tmp);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    REQUIRE(in);
    CHECK(in->bootloader == "grub2");
    CHECK(in->default_kernel == "6.1.0-13-amd64");
    CHECK(in->default_cmdline == "root=/dev/vda1 ro quiet");
    CHECK(has_warning(*in, "only the first"));
  }

  TEST_CASE("a directory with no release file at all is not an OS")
  {
    test::TempDir tmp;
    write_base(tmp);
    CHECK_FALSE(inspect_dir(tmp).has_value());
  }

  TEST_CASE("kernel config and module files stand in for missing depmod output")
  {
    test::TempDir tmp;
    write_base(tmp);
    tmp.write("root/etc/debian_version", "12.4\n");
    tmp.write("root/boot/vmlinuz-5.10.0-9-amd64", "kernel");
    tmp.write("root/boot/vmlinux-5.10.0-9-amd64", "uncompressed kernel, for debuggers");
    tmp.write("root/boot/config-5.10.0-9-amd64",
              "CONFIG_BLK_DEV_NVME=y\nCONFIG_VIRTIO_BLK=m\n# CONFIG_GVE is not set\n");
    tmp.write("root/lib/modules/5.10.0-9-amd64/kernel/drivers/block/virtio_blk.ko.xz", "m");
    tmp.write("root/lib/modules/5.10.0-9-amd64/kernel/drivers/net/ethernet/amazon/ena/ena.ko.zst",
              "m");
    auto in = inspect_dir(tmp);
    REQUIRE(in);
    const KernelInfo* k = in->kernel("5.10.0-9-amd64");
    REQUIRE(k);
    CHECK(k->image == "/boot/vmlinuz-5.10.0-9-amd64");
    CHECK(k->drivers.at("nvme") == drivers::DriverState::builtin);
    CHECK(k->drivers.at("virtio_blk") == drivers::DriverState::module);
    CHECK(k->drivers.at("ena") == drivers::DriverState::module);
    CHECK(k->drivers.at("gve") == drivers::DriverState::missing);
    CHECK(has_warning(*in, "no /lib/modules/5.10.0-9-amd64/modules.dep"));
  }

  TEST_CASE("versions compare the way rpm compares them")
  {
    CHECK(compare_versions("3.10.0-1160.119.1.el7.x86_64", "3.10.0-1160.el7.x86_64") > 0);
    CHECK(compare_versions("6.1.0-18-amd64", "6.1.0-9-amd64") > 0);
    CHECK(compare_versions("5.14.0-362.18.1.el9_3", "5.14.0-362.8.1.el9_3") > 0);
    CHECK(compare_versions("1.0", "1.0") == 0);
    CHECK(compare_versions("1.0", "1.0.1") < 0);
    CHECK(compare_versions("2.0a", "2.0") > 0);
    CHECK(compare_versions("", "") == 0);
  }

  TEST_CASE("the text summary names the essentials")
  {
    test::TempDir tmp;
    write_base(tmp);
    tmp.write("root/etc/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n");
    tmp.write("root/etc/debian_version", "12.4\n");
    tmp.write("root/etc/selinux/config", "SELINUX=permissive\n");
    auto in = inspect_dir(tmp);
    REQUIRE(in);
    std::string text = to_text(*in);
    CHECK(text.find("debian 12.4") != std::string::npos);
    CHECK(text.find("Kernel (default):") != std::string::npos);
    CHECK(text.find("SELinux:") != std::string::npos);
    CHECK(text.find("permissive") != std::string::npos);
  }

  TEST_CASE("rpm's SQLite database gives the installed packages; a broken one a warning")
  {
    test::TempDir tmp;
    write_base(tmp);
    tmp.write("root/etc/redhat-release", "Red Hat Enterprise Linux release 9.3 (Plow)\n");
    fs::create_directories(tmp.path() / "root/var/lib/rpm");
    std::string db_path = (tmp.path() / "root/var/lib/rpm/rpmdb.sqlite").string();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
    // The layout rpm 4.16 creates, in its WAL journal mode.
    REQUIRE(
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL;"
                     "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB);"
                     "CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, "
                     "idx INTEGER NOT NULL, UNIQUE (key, hnum, idx));"
                     "INSERT INTO Name VALUES ('kernel', 1, 0), ('open-vm-tools', 2, 0), "
                     "('cloud-init', 3, 0), ('WALinuxAgent', 4, 0);",
                     nullptr, nullptr, nullptr)
        == SQLITE_OK);
    sqlite3_close(db);
    auto in = inspect_dir(tmp);
    REQUIRE(in);
    CHECK(in->package_manager == "rpm");
    CHECK(in->has_package("open-vm-tools"));
    CHECK(in->packages.size() == 4);
    CHECK(in->hypervisor_tools == std::vector<std::string>{"open-vm-tools"});
    CHECK(in->cloud_tools == std::vector<std::string>{"cloud-init", "walinuxagent"});
    CHECK(in->warnings.empty());

    tmp.write("root/var/lib/rpm/rpmdb.sqlite", std::string("SQLite format 3\0", 16) + "garbage");
    auto broken = inspect_dir(tmp);
    REQUIRE(broken);
    CHECK(broken->packages.empty());
    CHECK(has_warning(*broken, "installed rpm packages not read"));
  }

  TEST_CASE("megabyte-long lines in grub.cfg and mkinitcpio.conf neither crash nor stall")
  {
    test::TempDir tmp;
    write_base(tmp);
    tmp.write("root/etc/os-release", "NAME=\"Arch Linux\"\nID=arch\n");
    tmp.write("root/boot/grub/grub.cfg",
              "insmod blscfg\nblscfg\nset kernelopts=\"" + std::string(3 << 20, 'a') + "\n");
    tmp.write(
        "root/boot/loader/entries/x-6.1.0-13-amd64.conf",
        "title X\nversion 6.1.0-13-amd64\nlinux /vmlinuz-6.1.0-13-amd64\noptions $kernelopts\n");
    tmp.write("root/usr/bin/mkinitcpio", "");
    tmp.write("root/etc/mkinitcpio.conf", "HOOKS=(" + std::string(1000000, '(') + " autodetect)\n");
    auto start = std::chrono::steady_clock::now();
    auto in = inspect_dir(tmp);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    REQUIRE(in);
    CHECK(in->bootloader_bls);
    CHECK(in->default_kernel == "6.1.0-13-amd64");
    CHECK(in->default_cmdline.empty());
    CHECK(in->initramfs_host_only == true);
  }
}
