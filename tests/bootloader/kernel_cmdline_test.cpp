#include "bootloader/kernel_cmdline.hpp"

#include <doctest/doctest.h>

using namespace rehost::bootloader;

TEST_SUITE("unit")
{
  TEST_CASE("a command line splits into arguments, keeping quoted values whole")
  {
    KernelCmdline c("root=/dev/sda1 ro  quiet dyndbg=\"file x.c +p\" console=tty0 console=ttyS0");
    REQUIRE(c.args().size() == 6);
    CHECK(c.get("root") == "/dev/sda1");
    CHECK(c.get("ro") == "");
    CHECK(c.get("dyndbg") == "file x.c +p");
    CHECK(c.get("console") == "ttyS0"); // the last one is the one the kernel uses
    CHECK_FALSE(c.has("nomodeset"));
    CHECK(c.text() == "root=/dev/sda1 ro quiet dyndbg=\"file x.c +p\" console=tty0 console=ttyS0");
  }

  TEST_CASE("remove, set and add keep the order of untouched arguments")
  {
    KernelCmdline c("quiet console=tty0 resume=/dev/sda2 console=ttyS0,9600n8 splash");
    CHECK(c.remove("console") == 2);
    c.set("resume", std::string("UUID=abc"));
    c.add(parse_kernel_arg("console=ttyS0,115200n8"));
    c.add(parse_kernel_arg("console=ttyS0,115200n8")); // no duplicate
    c.add(parse_kernel_arg("nvme_core.io_timeout=4294967295"));
    CHECK(c.text()
          == "quiet resume=UUID=abc splash console=ttyS0,115200n8 nvme_core.io_timeout=4294967295");
  }

  TEST_CASE("set drops later duplicates and appends when absent")
  {
    KernelCmdline c("root=/dev/sda1 x root=/dev/sdb1");
    c.set("root", std::string("UUID=1"));
    CHECK(c.text() == "root=UUID=1 x");
    c.set("rootdelay", std::string("300"));
    CHECK(c.text() == "root=UUID=1 x rootdelay=300");
  }
}
