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

  using Names = std::vector<std::string>;

  TEST_CASE("NICs of ifupdown: each stanza, bond slaves and bridge ports for their masters")
  {
    CHECK(ifupdown_nics("auto lo\niface lo inet loopback\nauto ens192\niface ens192 inet static\n"
                        "  address 192.0.2.10/24\niface ens192 inet6 auto\n"
                        "auto ens224\niface ens224 inet static  # backup\n  address 10.1.0.5/16\n")
          == Names{"ens192", "ens192", "ens224"});
    // A bond of two NICs under a bridge, a VLAN on a third, an alias, a tunnel and Wi-Fi.
    CHECK(ifupdown_nics("iface eth0 inet manual\n  bond-master bond0\n"
                        "iface bond0 inet manual\n  bond-slaves eth0 eth1\n"
                        "iface br0 inet static\n  bridge_ports bond0 # the bond\n"
                        "  address 192.0.2.2/24\n"
                        "iface vlan100 inet static\n  vlan-raw-device eth2\n"
                        "iface eth3.200 inet dhcp\niface eth3:1 inet static\n"
                        "iface gre1 inet tunnel\n  mode gre\n"
                        "iface wlan0 inet dhcp\n  wpa-ssid home\n"
                        "iface br1 inet manual\n  bridge_ports none\n")
          == Names{"eth0", "eth0", "eth1", "eth2", "eth3", "eth3"});
    CHECK(ifupdown_nics("auto lo\niface lo inet loopback\n").empty());
  }

  TEST_CASE("NICs of netplan: ethernets by set-name, match name or id; bonds and VLANs not")
  {
    CHECK(netplan_nics("network:\n  ethernets:\n    ens3:\n      addresses: [10.0.0.2/8]\n"
                       "    id1:\n      match: {driver: e1000}\n      set-name: lan1\n"
                       "    id2:\n      match:\n        name: eth9\n"
                       "    id3:\n      match: {driver: ixgbe}\n"
                       "  bonds:\n    bond0:\n      interfaces: [ens3, lan1]\n"
                       "  vlans:\n    vlan10: {id: 10, link: ens3}\n")
          == Names{"ens3", "lan1", "eth9"});
    CHECK(netplan_nics("network:\n  bridges:\n    br0: {interfaces: []}\n").empty());
    CHECK(netplan_nics("network: [unclosed\n").empty());
  }

  TEST_CASE("NICs of ifcfg (RHEL and SUSE): ethernets, slaves and ports; masters give theirs")
  {
    CHECK(ifcfg_nics("eth0", "DEVICE=eth0\nBOOTPROTO=static\nIPADDR=10.0.0.2\n") == Names{"eth0"});
    CHECK(ifcfg_nics("eth1", "BOOTPROTO=dhcp\n") == Names{"eth1"});
    CHECK(ifcfg_nics("lo", "DEVICE=lo\n").empty());
    // RHEL: the bond and the bridge name no NIC; their slaves and ports are NICs.
    CHECK(ifcfg_nics("bond0", "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=1\"\n").empty());
    CHECK(ifcfg_nics("eth2", "DEVICE=eth2\nMASTER=bond0\nSLAVE=yes\n") == Names{"eth2"});
    CHECK(ifcfg_nics("br0", "DEVICE=br0\nTYPE=Bridge\n").empty());
    CHECK(ifcfg_nics("eth3", "DEVICE=eth3\nTYPE=Ethernet\nBRIDGE=br0\n") == Names{"eth3"});
    CHECK(ifcfg_nics("eth4.100", "DEVICE=eth4.100\nVLAN=yes\n") == Names{"eth4"});
    CHECK(ifcfg_nics("vlan7", "VLAN=yes\nPHYSDEV=eth5\n") == Names{"eth5"});
    CHECK(ifcfg_nics("eth0:1", "DEVICE=eth0:1\nIPADDR=10.0.0.3\n") == Names{"eth0"});
    CHECK(ifcfg_nics("team0", "DEVICE=team0\nDEVICETYPE=Team\n").empty());
    CHECK(ifcfg_nics("eth6", "DEVICE=eth6\nDEVICETYPE=TeamPort\nTEAM_MASTER=team0\n")
          == Names{"eth6"});
    CHECK(ifcfg_nics("wlan0", "TYPE=Wireless\nESSID=home\n").empty());
    // SUSE (wicked): the master lists its slaves and ports.
    CHECK(ifcfg_nics("bond0", "STARTMODE='auto'\nBONDING_MASTER='yes'\n"
                              "BONDING_SLAVE_0='eth0'\nBONDING_SLAVE_1='eth1'\n")
          == Names{"eth0", "eth1"});
    CHECK(ifcfg_nics("br0", "BRIDGE='yes'\nBRIDGE_PORTS='eth2 eth3'\n") == Names{"eth2", "eth3"});
    CHECK(ifcfg_nics("vlan10", "ETHERDEVICE='eth4'\nVLAN_ID=10\n") == Names{"eth4"});
  }

  TEST_CASE("NICs of NetworkManager keyfiles: ethernet profiles, bond ports, VLAN parents")
  {
    CHECK(nm_keyfile_nics("[connection]\nid=lan\ntype=ethernet\ninterface-name=ens3\n")
          == Names{"ens3"});
    CHECK(nm_keyfile_nics("[connection]\nid=p1\ntype=ethernet\ninterface-name=eth1\n"
                          "master=bond0\nslave-type=bond\n")
          == Names{"eth1"});
    CHECK(nm_keyfile_nics("[connection]\nid=bond0\ntype=bond\ninterface-name=bond0\n").empty());
    CHECK(nm_keyfile_nics("[connection]\nid=v\ntype=vlan\n[vlan]\nparent=eth2\nid=5\n")
          == Names{"eth2"});
    CHECK(nm_keyfile_nics("[connection]\nid=v\ntype=vlan\n[vlan]\n"
                          "parent=5f1d2e0c-0000-4000-8000-0123456789ab\n")
              .empty());
    CHECK(nm_keyfile_nics("[connection]\nid=wifi\ntype=wifi\ninterface-name=wlan0\n").empty());
  }

  TEST_CASE("nic_order: the primary first, the rest in natural order, each once")
  {
    CHECK(nic_order({"eth1", "eth10", "eth2", "eth0", "eth2", "eth1"})
          == Names{"eth1", "eth0", "eth2", "eth10"});
    CHECK(nic_order({"ens224", "ens192", "ens256"}) == Names{"ens224", "ens192", "ens256"});
    CHECK(nic_order({"lan", "eth01", "eth1"}) == Names{"lan", "eth01", "eth1"});
    CHECK(nic_order({}).empty());
  }

  TEST_CASE("is_interface_name: what Linux and the rule and link files accept")
  {
    CHECK(is_interface_name("eth0"));
    CHECK(is_interface_name("enp0s31f6"));
    CHECK(is_interface_name("lan-1.2_x"));
    CHECK_FALSE(is_interface_name(""));
    CHECK_FALSE(is_interface_name("en*"));
    CHECK_FALSE(is_interface_name("Wired connection 1"));
    CHECK_FALSE(is_interface_name("eth0:1"));
    CHECK_FALSE(is_interface_name("a\"b"));
    CHECK_FALSE(is_interface_name("sixteen-chars-xx"));
    CHECK(is_interface_name("fifteen-chars-x"));
  }
}
