#include "converter/boot_test.hpp"

#include <algorithm>

#include <doctest/doctest.h>

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("the console verdict: login passes, initramfs shells and panics fail")
  {
    CHECK_FALSE(judge_console("[    0.000000] Linux version 6.1.0\n").decided);
    auto ok = judge_console("Debian GNU/Linux 12 web01 ttyS0\n\nweb01 login: ");
    CHECK(ok.decided);
    CHECK(ok.passed);
    auto alert = judge_console("Gave up waiting for root file system device.\nALERT!  /dev/sda1 "
                               "does not exist.  Dropping to a shell!\n");
    CHECK(alert.decided);
    CHECK_FALSE(alert.passed);
    CHECK(alert.reason == "Gave up waiting for root file system device.");
    auto panic = judge_console("[ 2.3] Kernel panic - not syncing: VFS: Unable to mount root fs\n");
    CHECK_FALSE(panic.passed);
    CHECK(panic.reason.find("Kernel panic") != std::string::npos);
  }

  TEST_CASE("the qemu command puts the disk on the target's device, read-only")
  {
    BootTestOptions o;
    o.image = "/x/out.qcow2";
    o.format = "qcow2";
    o.devices.disk = "nvme";
    auto argv = boot_test_command(o, "tcg");
    auto has = [&](const std::string& s) {
      return std::find(argv.begin(), argv.end(), s) != argv.end();
    };
    CHECK(has("file=/x/out.qcow2,format=qcow2,if=none,id=disk0,snapshot=on"));
    CHECK(has("nvme,drive=disk0,serial=rehostboot"));
    CHECK_FALSE(has("-netdev"));
    o.devices.disk = "virtio-blk-pci";
    o.devices.nic = "virtio-net-pci";
    argv = boot_test_command(o, "tcg");
    CHECK(has("virtio-blk-pci,drive=disk0"));
    CHECK(has("virtio-net-pci,netdev=net0"));
    CHECK(has("user,id=net0,restrict=on"));
  }
}
