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

  TEST_CASE("words are split where ifupdown splits them: at any white space, '#' only first")
  {
    // Found by fuzz_ifupdown: a form feed after the name, and a '#' inside a name.
    std::string text = "auto eth0\f\niface eth0\finet6 static\n  address 2001:db8::2/64\n"
                       "auto a#b\niface a#b inet6 auto\n";
    CHECK(ifupdown_primary_interface(text) == "eth0");
    std::string out = ifupdown_dhcp(text, "ens5");
    CHECK(out
          == "auto ens5\f\niface ens5\finet6 static\n  address 2001:db8::2/64\n"
             "auto a#b\niface a#b inet6 auto\n");
    CHECK(ifupdown_primary_interface(out) == "ens5");
    std::string hash = "iface a#b inet6 auto # comment a#b\n";
    CHECK(ifupdown_dhcp(hash, "ens5") == "iface ens5 inet6 auto # comment a#b\n");
  }

  TEST_CASE("an interface named like a keyword is renamed where it is a name, not a keyword")
  {
    // Found by fuzz_ifupdown: "iface iface ..." named an interface "iface".
    std::string text = "auto auto iface\niface iface inet6 auto\n";
    CHECK(ifupdown_primary_interface(text) == "iface");
    std::string out = ifupdown_dhcp(text, "ens5");
    CHECK(out == "auto auto ens5\niface ens5 inet6 auto\n");
    CHECK(ifupdown_primary_interface(out) == "ens5");
  }
}
