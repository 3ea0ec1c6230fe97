#include "bootloader/cmdline_edit.hpp"

#include <doctest/doctest.h>

using namespace rehost::bootloader;

TEST_SUITE("unit")
{
  TEST_CASE("a command line edit removes, replaces and adds, in that order")
  {
    CmdlineEdit edit;
    edit.remove = {"console", "rootdelay"};
    edit.set = {"net.ifnames=0"};
    edit.add = {"console=ttyS0", "rootdelay=300"};
    CHECK(edit_cmdline("ro net.ifnames=1 quiet console=tty0 rootdelay=10 net.ifnames=1", edit)
          == "ro net.ifnames=0 quiet console=ttyS0 rootdelay=300");
    CHECK(edit_cmdline("", edit) == "net.ifnames=0 console=ttyS0 rootdelay=300");
  }

  TEST_CASE("an edit that changes no argument returns the line byte for byte")
  {
    CmdlineEdit edit;
    edit.add = {"console=ttyS0"};
    CHECK(edit_cmdline("ro  quiet\tconsole=ttyS0", edit) == "ro  quiet\tconsole=ttyS0");
    CHECK(is_empty(CmdlineEdit{}));
    CHECK_FALSE(is_empty(edit));
  }

  TEST_CASE("root= and resume= go through the device rewriter; grub variables stay in place")
  {
    CmdlineEdit edit;
    edit.devices = [](const std::string& dev) -> std::optional<std::string> {
      if (dev == "/dev/xvda1") {
        return "UUID=1";
      }
      return std::nullopt;
    };
    CHECK(edit_cmdline("$kernelopts root=/dev/xvda1 resume=/dev/mapper/swap $tuned_params", edit)
          == "$kernelopts root=UUID=1 resume=/dev/mapper/swap $tuned_params");
  }
}
