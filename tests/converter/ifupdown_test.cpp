#include "converter/ifupdown.hpp"

#include <doctest/doctest.h>

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("the primary interface moves to the target's name with DHCP")
  {
    const std::string text = "source /etc/network/interfaces.d/*\n\n"
                             "# The loopback network interface\nauto lo\niface lo inet loopback\n\n"
                             "# The primary network interface\nallow-hotplug eth0\n"
                             "iface eth0 inet static\n\taddress 10.0.0.5/24\n\tgateway 10.0.0.1\n"
                             "\tdns-nameservers 10.0.0.2\n\tmtu 9000\n"
                             "iface eth0 inet6 auto\n";
    CHECK(ifupdown_primary_interface(text) == "eth0");
    CHECK(ifupdown_dhcp(text, "ens5")
          == "source /etc/network/interfaces.d/*\n\n"
             "# The loopback network interface\nauto lo\niface lo inet loopback\n\n"
             "# The primary network interface\nallow-hotplug ens5\n"
             "iface ens5 inet dhcp\n\tmtu 9000\n"
             "iface ens5 inet6 auto\n");
  }

  TEST_CASE("a file without an interface is left alone")
  {
    const std::string text = "auto lo\niface lo inet loopback\n";
    CHECK(ifupdown_primary_interface(text).empty());
    CHECK(ifupdown_dhcp(text, "ens5") == text);
  }
}
