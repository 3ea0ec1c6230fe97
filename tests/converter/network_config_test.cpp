#include "converter/network_config.hpp"

#include <doctest/doctest.h>

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("ifupdown: methods, addresses, sources; the loopback left out")
  {
    std::string text =
        "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n"
        "auto eth0\niface eth0 inet static\n  address 192.0.2.5/24\n  gateway 192.0.2.1\n"
        "iface eth0 inet6 auto\nallow-hotplug eth1\niface eth1 inet dhcp\n";
    auto found = parse_ifupdown(text, "/etc/network/interfaces");
    REQUIRE(found.size() == 2);
    CHECK(found[0].name == "eth0");
    CHECK(found[0].method == "static");
    CHECK(found[0].addresses == std::vector<std::string>{"192.0.2.5/24"});
    CHECK(found[1].method == "dhcp");
    CHECK(ifupdown_sources(text) == std::vector<std::string>{"/etc/network/interfaces.d/*"});
  }

  TEST_CASE("netplan: dhcp, static, MAC match and set-name; bad YAML is an error, not a throw")
  {
    auto found =
        parse_netplan("network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n"
                      "      match: {macaddress: 'AA:BB:CC:DD:EE:FF'}\n      set-name: ens5\n"
                      "    eth1:\n      addresses: [10.0.0.2/8]\n",
                      "/etc/netplan/50.yaml");
    REQUIRE(found.size() == 2);
    CHECK(found[0].name == "ens5");
    CHECK(found[0].mac == "aa:bb:cc:dd:ee:ff");
    CHECK(found[0].method == "dhcp");
    CHECK(found[1].method == "static");
    std::string error;
    CHECK(parse_netplan("network: [unclosed", "x", &error).empty());
    CHECK_FALSE(error.empty());
    CHECK(parse_netplan("just a string", "x").empty());
  }

  TEST_CASE("ifcfg: BOOTPROTO, IPADDR with PREFIX, HWADDR pins; the loopback is none")
  {
    auto i = parse_ifcfg("ens192",
                         "TYPE=Ethernet\nBOOTPROTO=none\nIPADDR=192.0.2.30\nPREFIX=24\n"
                         "HWADDR=00:50:56:AA:BB:CC\nONBOOT=yes\n",
                         "/etc/sysconfig/network-scripts/ifcfg-ens192");
    REQUIRE(i);
    CHECK(i->name == "ens192");
    CHECK(i->method == "static");
    CHECK(i->addresses == std::vector<std::string>{"192.0.2.30/24"});
    CHECK(i->mac == "00:50:56:aa:bb:cc");
    auto suse = parse_ifcfg("eth0", "BOOTPROTO='dhcp'\nSTARTMODE='auto'\n", "f");
    REQUIRE(suse);
    CHECK(suse->method == "dhcp");
    CHECK(suse->mac.empty());
    CHECK_FALSE(parse_ifcfg("lo", "DEVICE=lo\nIPADDR=127.0.0.1\n", "f").has_value());
  }

  TEST_CASE("NetworkManager keyfiles and networkd files")
  {
    auto nm = parse_nm_keyfile("[connection]\nid=ens3\ntype=ethernet\ninterface-name=ens3\n\n"
                               "[ethernet]\nmac-address=52:54:00:12:34:56\n\n[ipv4]\n"
                               "address1=192.0.2.40/24,192.0.2.1\nmethod=manual\n",
                               "x.nmconnection");
    REQUIRE(nm);
    CHECK(nm->name == "ens3");
    CHECK(nm->method == "static");
    CHECK(nm->addresses == std::vector<std::string>{"192.0.2.40/24"});
    CHECK(nm->mac == "52:54:00:12:34:56");
    CHECK_FALSE(parse_nm_keyfile("not a keyfile", "x").has_value());
    auto nd = parse_networkd("[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n", "20.network");
    REQUIRE(nd);
    CHECK(nd->name == "en*");
    CHECK(nd->method == "dhcp");
    auto link = parse_networkd("[Match]\nMACAddress=52:54:00:AB:CD:EF\n[Link]\nName=lan0\n", "l");
    REQUIRE(link);
    CHECK(link->name == "lan0");
    CHECK(link->mac == "52:54:00:ab:cd:ef");
  }
}
