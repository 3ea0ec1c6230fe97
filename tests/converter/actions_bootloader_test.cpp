// The bootloader, network and boot action types run on a directory guest.
#include "converter/actions.hpp"

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "converter/netconf.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using drivers::DriverState;

namespace {

Action make_action(const std::string& type, const std::map<std::string, std::string>& scalars,
                   const std::map<std::string, std::vector<std::string>>& lists = {})
{
  Action a;
  a.type = type;
  for (const auto& [k, v] : scalars) {
    a.params[k].scalar = v;
  }
  for (const auto& [k, v] : lists) {
    a.params[k].is_list = true;
    a.params[k].list = v;
  }
  return a;
}

TargetProfile kvm()
{
  TargetProfile t;
  t.name = "kvm";
  t.storage_drivers = {"virtio_blk"};
  t.network_drivers = {"virtio_net"};
  t.kernel_args_remove = {"console"};
  t.kernel_args_add = {"console=ttyS0"};
  t.first_interface = "ens3";
  return t;
}

// kvm with its NICs placed by PCI address, as rules/targets/kvm.yaml does.
TargetProfile kvm_placed()
{
  TargetProfile t = kvm();
  t.nics = {{"0000:00:03.0", "ens3"}, {"0000:00:04.0", "ens4"}, {"0000:00:05.0", "ens5"}};
  return t;
}

KernelInfo kernel(const std::string& version, bool has_drivers)
{
  KernelInfo k;
  k.version = version;
  k.image = "/boot/vmlinuz-" + version;
  auto state = has_drivers ? DriverState::module : DriverState::missing;
  k.drivers = {{"virtio_blk", state}, {"virtio_net", state}};
  return k;
}

struct Fixture {
  test::TempDir dir;
  Inspection inspection;
  TargetProfile target = kvm();
  bool keep_network = false;

  Result<void> run(const Action& a, ActionRecord& record)
  {
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    ActionContext context{**guest, inspection, target};
    context.keep_network = keep_network;
    return run_action(context, a, record);
  }
  std::string read(const std::string& path) { return test::read_file(dir.str() + "/root" + path); }
  bool exists(const std::string& path)
  {
    return std::filesystem::exists(dir.str() + "/root" + path);
  }
};

// Runs network_dhcp for `style` on `path`, which must succeed.
ActionRecord run_network_dhcp(Fixture& f, const std::string& style, const std::string& path)
{
  ActionRecord record;
  REQUIRE(f.run(make_action("network_dhcp", {{"style", style}, {"path", path}}), record));
  return record;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("boot_entry_args edits the options of every BLS entry")
  {
    Fixture f;
    f.dir.write("root/boot/loader/entries/m-5.14.0-1.conf",
                "title A\nlinux /vmlinuz-5.14.0-1\noptions root=UUID=r ro console=tty0\n");
    f.dir.write("root/boot/loader/entries/m-5.14.0-2.conf",
                "title B\nlinux /vmlinuz-5.14.0-2\noptions root=UUID=r ro\n");
    f.dir.write("root/boot/loader/entries/README", "not an entry\n");
    ActionRecord record;
    REQUIRE(
        f.run(make_action("boot_entry_args", {{"style", "bls"}, {"path", "/boot/loader/entries"}}),
              record));
    CHECK(record.changes.size() == 2);
    CHECK(f.read("/boot/loader/entries/m-5.14.0-1.conf")
          == "title A\nlinux /vmlinuz-5.14.0-1\noptions root=UUID=r ro console=ttyS0\n");
    CHECK(f.read("/boot/loader/entries/m-5.14.0-2.conf")
          == "title B\nlinux /vmlinuz-5.14.0-2\noptions root=UUID=r ro console=ttyS0\n");
    CHECK(f.read("/boot/loader/entries/README") == "not an entry\n");
  }

  TEST_CASE("boot_entry_args edits grubenv kernelopts and keeps the block size")
  {
    Fixture f;
    std::string env = "# GRUB Environment Block\nkernelopts=root=/dev/mapper/rhel-root ro "
                      "console=tty0\nsaved_entry=x\n";
    env.append(1024 - env.size(), '#');
    f.dir.write("root/boot/grub2/grubenv", env);
    ActionRecord record;
    REQUIRE(f.run(
        make_action("boot_entry_args", {{"style", "grubenv"}, {"path", "/boot/grub2/grubenv"}}),
        record));
    std::string out = f.read("/boot/grub2/grubenv");
    CHECK(out.size() == 1024);
    CHECK(out.find("kernelopts=root=/dev/mapper/rhel-root ro console=ttyS0\nsaved_entry=x\n")
          != std::string::npos);
  }

  TEST_CASE("default_kernel picks the newest kernel with the target's drivers in menu.lst")
  {
    Fixture f;
    f.inspection.kernels = {kernel("2.6.32-754.el6.x86_64", false),
                            kernel("2.6.32-696.el6.x86_64", true)};
    f.inspection.default_kernel = "2.6.32-754.el6.x86_64";
    f.dir.write("root/boot/grub/grub.conf",
                "default=0\ntimeout=5\n"
                "title new\n\tkernel /vmlinuz-2.6.32-754.el6.x86_64 ro\n"
                "title old\n\tkernel /vmlinuz-2.6.32-696.el6.x86_64 ro\n");
    ActionRecord record;
    REQUIRE(f.run(
        make_action("default_kernel", {{"style", "grub-legacy"}, {"path", "/boot/grub/grub.conf"}}),
        record));
    CHECK(f.read("/boot/grub/grub.conf").starts_with("default=1\ntimeout=5\n"));
    CHECK(record.summary.find("2.6.32-696.el6.x86_64 boots by default") != std::string::npos);
    REQUIRE_FALSE(record.notes.empty());
    CHECK(record.notes[0].find("2.6.32-754.el6.x86_64 passed over: it lacks virtio_blk")
          != std::string::npos);
  }

  TEST_CASE("default_kernel sets saved_entry to the BLS entry of the chosen kernel")
  {
    Fixture f;
    f.inspection.kernels = {kernel("5.14.0-9", false), kernel("5.14.0-8", true)};
    f.inspection.default_kernel = "5.14.0-9";
    f.dir.write("root/boot/loader/entries/abc-5.14.0-9.conf", "version 5.14.0-9\n");
    f.dir.write("root/boot/loader/entries/abc-5.14.0-8.conf", "version 5.14.0-8\n");
    f.dir.write("root/boot/grub2/grubenv", "");
    ActionRecord record;
    REQUIRE(
        f.run(make_action("default_kernel", {{"style", "bls"}, {"path", "/boot/grub2/grubenv"}}),
              record));
    std::string env = f.read("/boot/grub2/grubenv");
    CHECK(env.size() == 1024);
    CHECK(env.find("\nsaved_entry=abc-5.14.0-8\n") != std::string::npos);
  }

  TEST_CASE("default_kernel fails naming the driver when no kernel can boot on the target")
  {
    Fixture f;
    f.inspection.kernels = {kernel("4.19.0-6-amd64", false)};
    f.dir.write("root/etc/default/grub", "GRUB_DEFAULT=0\n");
    ActionRecord record;
    auto r = f.run(
        make_action("default_kernel", {{"style", "grub2"}, {"path", "/etc/default/grub"}}), record);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("none has the virtio_blk driver") != std::string::npos);
  }

  TEST_CASE("default_kernel on grub2 sets GRUB_DEFAULT to the entry of the chosen kernel")
  {
    Fixture f;
    f.inspection.kernels = {kernel("6.1.0-13-amd64", false), kernel("5.10.0-26-amd64", true)};
    f.inspection.default_kernel = "6.1.0-13-amd64";
    f.inspection.bootloader_config = "/boot/grub/grub.cfg";
    f.dir.write("root/boot/grub/grub.cfg",
                "menuentry 'Debian GNU/Linux' {\n\tlinux /boot/vmlinuz-6.1.0-13-amd64 ro\n}\n"
                "submenu 'Advanced options' {\n"
                "\tmenuentry 'Debian, with Linux 6.1.0-13-amd64' {\n"
                "\t\tlinux /boot/vmlinuz-6.1.0-13-amd64 ro\n\t}\n"
                "\tmenuentry 'Debian, with Linux 5.10.0-26-amd64' {\n"
                "\t\tlinux /boot/vmlinuz-5.10.0-26-amd64 ro\n\t}\n"
                "\tmenuentry 'Debian, with Linux 5.10.0-26-amd64 (recovery mode)' {\n"
                "\t\tlinux /boot/vmlinuz-5.10.0-26-amd64 ro single\n\t}\n"
                "}\n");
    f.dir.write("root/etc/default/grub", "# comment\nGRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n");
    ActionRecord record;
    REQUIRE(
        f.run(make_action("default_kernel", {{"style", "grub2"}, {"path", "/etc/default/grub"}}),
              record));
    CHECK(f.read("/etc/default/grub") == "# comment\nGRUB_DEFAULT=\"1>1\"\nGRUB_TIMEOUT=5\n");
  }

  TEST_CASE("selinux_relabel creates /.autorelabel only for enforcing or permissive guests")
  {
    Fixture f;
    f.dir.write("root/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n");
    ActionRecord record;
    REQUIRE(f.run(make_action("selinux_relabel", {}), record));
    CHECK(f.exists("/.autorelabel"));
    Fixture g;
    g.dir.write("root/etc/selinux/config", "SELINUX=disabled\n");
    ActionRecord none;
    REQUIRE(g.run(make_action("selinux_relabel", {}), none));
    CHECK_FALSE(g.exists("/.autorelabel"));
  }

  TEST_CASE("uefi_fallback copies the vendor's shim and grub to EFI/BOOT when missing")
  {
    Fixture f;
    f.inspection.firmware = "uefi";
    f.dir.write("root/boot/efi/EFI/redhat/shimx64.efi", "shim");
    f.dir.write("root/boot/efi/EFI/redhat/grubx64.efi", "grub");
    ActionRecord record;
    auto a =
        make_action("uefi_fallback", {},
                    {{"loaders", {"shimx64.efi", "grubx64.efi"}}, {"companions", {"grubx64.efi"}}});
    REQUIRE(f.run(a, record));
    CHECK(f.read("/boot/efi/EFI/BOOT/BOOTX64.EFI") == "shim");
    CHECK(f.read("/boot/efi/EFI/BOOT/grubx64.efi") == "grub");
    ActionRecord again;
    REQUIRE(f.run(a, again));
    CHECK(again.changes.empty());
  }

  TEST_CASE("uefi_fallback on an arm64 guest writes BOOTAA64.EFI from the arm64 loaders")
  {
    Fixture f;
    f.inspection.firmware = "uefi";
    f.inspection.os.arch = "aarch64";
    f.dir.write("root/boot/efi/EFI/debian/shimaa64.efi", "shim-arm");
    f.dir.write("root/boot/efi/EFI/debian/grubaa64.efi", "grub-arm");
    // A BOOTX64.EFI is no fallback for an arm64 firmware.
    f.dir.write("root/boot/efi/EFI/BOOT/BOOTX64.EFI", "x64");
    ActionRecord record;
    auto a = make_action("uefi_fallback", {},
                         {{"loaders", {"shimx64.efi", "grubx64.efi", "shimaa64.efi"}},
                          {"companions", {"grubx64.efi", "grubaa64.efi"}}});
    REQUIRE(f.run(a, record));
    CHECK(f.read("/boot/efi/EFI/BOOT/BOOTAA64.EFI") == "shim-arm");
    CHECK(f.read("/boot/efi/EFI/BOOT/grubaa64.efi") == "grub-arm");
    CHECK(f.read("/boot/efi/EFI/BOOT/BOOTX64.EFI") == "x64");
    CHECK_FALSE(f.exists("/boot/efi/EFI/BOOT/grubx64.efi"));
  }

  TEST_CASE("network_dhcp with ifcfg renames the primary file to the target's interface")
  {
    Fixture f;
    f.dir.write("root/etc/sysconfig/network-scripts/ifcfg-eth0",
                "DEVICE=eth0\nBOOTPROTO=static\nIPADDR=10.0.0.2\nHWADDR=00:11:22:33:44:55\n");
    f.dir.write("root/etc/sysconfig/network-scripts/ifcfg-lo", "DEVICE=lo\n");
    ActionRecord record = run_network_dhcp(f, "ifcfg", "/etc/sysconfig/network-scripts");
    CHECK_FALSE(f.exists("/etc/sysconfig/network-scripts/ifcfg-eth0"));
    CHECK(f.read("/etc/sysconfig/network-scripts/ifcfg-ens3") == "DEVICE=ens3\nBOOTPROTO=dhcp\n");
    CHECK(f.read("/etc/sysconfig/network-scripts/ifcfg-lo") == "DEVICE=lo\n");
  }

  TEST_CASE("network_dhcp with --keep-network keeps a static ifupdown interface and its name "
            "through a systemd.link file")
  {
    Fixture f;
    f.keep_network = true;
    const std::string interfaces = "auto lo\niface lo inet loopback\n\nauto ens192\n"
                                   "iface ens192 inet static\n  address 192.0.2.10/24\n"
                                   "  gateway 192.0.2.1\n";
    f.dir.write("root/etc/network/interfaces", interfaces);
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "ifupdown", "/etc/network/interfaces");
    CHECK(f.read("/etc/network/interfaces") == interfaces);
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net.link")
          == keep_name_link("ens192", "virtio_net", "kvm"));
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net.link").find("Name=ens192\n")
          != std::string::npos);
    REQUIRE(record.changes.size() == 1);
    CHECK(record.changes[0].path == "/etc/systemd/network/10-rehost-virtio_net.link");
    CHECK(record.summary.find("ens192 kept") != std::string::npos);
  }

  TEST_CASE("network_dhcp with --keep-network on a guest without systemd writes a udev rule and "
            "leaves the ifcfg file as it is")
  {
    Fixture f;
    f.keep_network = true;
    f.target.network_drivers = {"ena", "ixgbevf"};
    const std::string ifcfg = "DEVICE=eth1\nBOOTPROTO=static\nIPADDR=10.0.0.2\nONBOOT=yes\n";
    f.dir.write("root/etc/sysconfig/network-scripts/ifcfg-eth1", ifcfg);
    ActionRecord record = run_network_dhcp(f, "ifcfg", "/etc/sysconfig/network-scripts");
    CHECK(f.read("/etc/sysconfig/network-scripts/ifcfg-eth1") == ifcfg);
    CHECK_FALSE(f.exists("/etc/sysconfig/network-scripts/ifcfg-ens3"));
    CHECK_FALSE(f.exists("/etc/systemd/network"));
    std::string rules = f.read("/etc/udev/rules.d/70-rehost-keep-network.rules");
    CHECK(rules.find("SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"ena\", NAME=\"eth1\"\n")
          != std::string::npos);
    CHECK(rules.find("DRIVERS==\"ixgbevf\", NAME=\"eth1\"") != std::string::npos);
  }

  TEST_CASE("network_dhcp with --keep-network writes nothing when the target names the NIC the "
            "same")
  {
    Fixture f;
    f.keep_network = true;
    const std::string netplan = "network:\n  ethernets:\n    ens3:\n      addresses: "
                                "[192.0.2.10/24]\n";
    f.dir.write("root/etc/netplan/01-netcfg.yaml", netplan);
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "netplan", "/etc/netplan");
    CHECK(f.read("/etc/netplan/01-netcfg.yaml") == netplan);
    CHECK(record.changes.empty());
    CHECK_FALSE(f.exists("/etc/systemd/network"));
  }

  // --keep-network with several NICs: each keeps its name by its position on the target.

  TEST_CASE("--keep-network, ifupdown, three NICs on systemd: a link file per NIC by PCI path")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    const std::string interfaces =
        "auto lo\niface lo inet loopback\n\nauto ens192\niface ens192 inet static\n"
        "  address 192.0.2.10/24\n  gateway 192.0.2.1\n\nauto ens256\n"
        "iface ens256 inet static\n  address 10.2.0.5/16\n\nauto ens224\n"
        "iface ens224 inet static\n  address 10.1.0.5/16\n";
    f.dir.write("root/etc/network/interfaces", interfaces);
    f.dir.write("root/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "ifupdown", "/etc/network/interfaces");
    CHECK(f.read("/etc/network/interfaces") == interfaces);
    // The primary first, then the others in natural order.
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-0.link")
          == keep_name_link_at("ens192", "virtio_net", "0000:00:03.0", 0, "kvm"));
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-1.link")
          == keep_name_link_at("ens224", "virtio_net", "0000:00:04.0", 1, "kvm"));
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-2.link")
          == keep_name_link_at("ens256", "virtio_net", "0000:00:05.0", 2, "kvm"));
    CHECK_FALSE(f.exists("/etc/systemd/network/10-rehost-virtio_net.link"));
    CHECK(record.changes.size() == 3);
    CHECK(record.warnings.empty());
    CHECK(record.summary.find("ens192 as NIC 0 (0000:00:03.0), ens224 as NIC 1 (0000:00:04.0), "
                              "ens256 as NIC 2 (0000:00:05.0)")
          != std::string::npos);
  }

  TEST_CASE("--keep-network, ifupdown, two NICs under a bond on a udev-only guest")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    f.dir.write("root/etc/network/interfaces",
                "auto bond0\niface bond0 inet static\n  address 192.0.2.10/24\n"
                "  bond-slaves eth0 eth1\n  bond-mode active-backup\n");
    ActionRecord record = run_network_dhcp(f, "ifupdown", "/etc/network/interfaces");
    CHECK_FALSE(f.exists("/etc/systemd/network"));
    CHECK(f.read("/etc/udev/rules.d/70-rehost-keep-network.rules")
          == keep_names_udev_rules({{0, "0000:00:03.0", "eth0"}, {1, "0000:00:04.0", "eth1"}},
                                   "kvm"));
  }

  TEST_CASE("--keep-network, netplan, two NICs: the one the target names the same needs nothing")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    const std::string netplan = "network:\n  ethernets:\n    ens3:\n      addresses: "
                                "[192.0.2.10/24]\n    backend:\n      match: {name: eth1}\n"
                                "      addresses: [10.0.0.2/8]\n";
    f.dir.write("root/etc/netplan/01-netcfg.yaml", netplan);
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "netplan", "/etc/netplan");
    CHECK(f.read("/etc/netplan/01-netcfg.yaml") == netplan);
    CHECK_FALSE(f.exists("/etc/systemd/network/10-rehost-virtio_net-0.link"));
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-1.link")
          == keep_name_link_at("eth1", "virtio_net", "0000:00:04.0", 1, "kvm"));
    CHECK(record.changes.size() == 1);
    REQUIRE(record.notes.size() == 1);
    CHECK(record.notes[0] == "ens3 is the name the target gives its NIC 0 anyway");
  }

  TEST_CASE("--keep-network, netplan, three NICs in two files")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    f.dir.write("root/etc/netplan/01-lan.yaml",
                "network:\n  ethernets:\n    lan0:\n      addresses: [192.0.2.10/24]\n");
    f.dir.write("root/etc/netplan/02-storage.yaml",
                "network:\n  ethernets:\n    san2:\n      mtu: 9000\n    san1:\n      mtu: 9000\n"
                "  vlans:\n    vlan5: {id: 5, link: san1}\n");
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "netplan", "/etc/netplan");
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-0.link").find("Name=lan0\n")
          != std::string::npos);
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-1.link").find("Name=san1\n")
          != std::string::npos);
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-2.link").find("Name=san2\n")
          != std::string::npos);
  }

  TEST_CASE("--keep-network, NetworkManager keyfiles, two bond ports and a third NIC, per driver")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    f.target.network_drivers = {"virtio_net", "gve"};
    const std::string dir = "root/etc/NetworkManager/system-connections/";
    f.dir.write(dir + "bond0.nmconnection",
                "[connection]\nid=bond0\ntype=bond\ninterface-name=bond0\n[ipv4]\n"
                "method=manual\naddress1=192.0.2.10/24\n");
    f.dir.write(dir + "bond0-port1.nmconnection",
                "[connection]\nid=p1\ntype=ethernet\ninterface-name=eth0\nmaster=bond0\n"
                "slave-type=bond\n");
    f.dir.write(dir + "bond0-port2.nmconnection",
                "[connection]\nid=p2\ntype=ethernet\ninterface-name=eth1\nmaster=bond0\n"
                "slave-type=bond\n");
    f.dir.write(dir + "mgmt.nmconnection", "[connection]\nid=mgmt\ntype=ethernet\n"
                                           "interface-name=mgmt0\n[ipv4]\nmethod=auto\n");
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record;
    REQUIRE(f.run(make_action("network_dhcp", {{"style", "networkmanager"},
                                               {"path", "/etc/NetworkManager/system-connections"}}),
                  record));
    for (const char* driver : {"virtio_net", "gve"}) {
      CHECK(f.read(fmt::format("/etc/systemd/network/10-rehost-{}-0.link", driver))
            == keep_name_link_at("eth0", driver, "0000:00:03.0", 0, "kvm"));
      CHECK(f.read(fmt::format("/etc/systemd/network/10-rehost-{}-1.link", driver))
            == keep_name_link_at("eth1", driver, "0000:00:04.0", 1, "kvm"));
      CHECK(f.read(fmt::format("/etc/systemd/network/10-rehost-{}-2.link", driver))
            == keep_name_link_at("mgmt0", driver, "0000:00:05.0", 2, "kvm"));
    }
    CHECK(record.changes.size() == 6);
  }

  TEST_CASE("--keep-network, ifcfg, two NICs on a udev-only guest (RHEL 6)")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    const std::string scripts = "root/etc/sysconfig/network-scripts/";
    f.dir.write(scripts + "ifcfg-eth0", "DEVICE=eth0\nBOOTPROTO=static\nIPADDR=192.0.2.10\n");
    f.dir.write(scripts + "ifcfg-eth1", "DEVICE=eth1\nBOOTPROTO=static\nIPADDR=10.0.0.2\n");
    f.dir.write(scripts + "ifcfg-lo", "DEVICE=lo\n");
    ActionRecord record = run_network_dhcp(f, "ifcfg", "/etc/sysconfig/network-scripts");
    CHECK(f.read("/etc/sysconfig/network-scripts/ifcfg-eth1")
          == "DEVICE=eth1\nBOOTPROTO=static\nIPADDR=10.0.0.2\n");
    CHECK(f.read("/etc/udev/rules.d/70-rehost-keep-network.rules")
          == keep_names_udev_rules({{0, "0000:00:03.0", "eth0"}, {1, "0000:00:04.0", "eth1"}},
                                   "kvm"));
    CHECK_FALSE(f.exists("/etc/systemd/network"));
  }

  TEST_CASE("--keep-network, ifcfg, three NICs on systemd: eth10 after eth2, the bond left out")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    const std::string scripts = "root/etc/sysconfig/network-scripts/";
    f.dir.write(scripts + "ifcfg-bond0", "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=1\"\n"
                                         "IPADDR=192.0.2.10\n");
    f.dir.write(scripts + "ifcfg-eth0", "DEVICE=eth0\nMASTER=bond0\nSLAVE=yes\n");
    f.dir.write(scripts + "ifcfg-eth10", "DEVICE=eth10\nMASTER=bond0\nSLAVE=yes\n");
    f.dir.write(scripts + "ifcfg-eth2", "DEVICE=eth2\nBOOTPROTO=static\nIPADDR=10.0.0.2\n");
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "ifcfg", "/etc/sysconfig/network-scripts");
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-0.link").find("Name=eth0\n")
          != std::string::npos);
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-1.link").find("Name=eth2\n")
          != std::string::npos);
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-2.link").find("Name=eth10\n")
          != std::string::npos);
    CHECK(record.changes.size() == 3);
  }

  TEST_CASE("--keep-network, wicked, a bond of two NICs and a third on a udev-only guest "
            "(SLES 11)")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    const std::string network = "root/etc/sysconfig/network/";
    f.dir.write(network + "ifcfg-bond0", "STARTMODE='auto'\nBOOTPROTO='static'\n"
                                         "IPADDR='192.0.2.10/24'\nBONDING_MASTER='yes'\n"
                                         "BONDING_SLAVE_0='eth1'\nBONDING_SLAVE_1='eth0'\n");
    f.dir.write(network + "ifcfg-eth0", "STARTMODE='hotplug'\nBOOTPROTO='none'\n");
    f.dir.write(network + "ifcfg-eth1", "STARTMODE='hotplug'\nBOOTPROTO='none'\n");
    f.dir.write(network + "ifcfg-eth2", "STARTMODE='auto'\nBOOTPROTO='static'\n"
                                        "IPADDR='10.0.0.2/8'\n");
    f.dir.write(network + "ifcfg-lo", "STARTMODE='nfsroot'\n");
    ActionRecord record = run_network_dhcp(f, "wicked", "/etc/sysconfig/network");
    // The primary file is ifcfg-bond0: its first slave comes first.
    CHECK(
        f.read("/etc/udev/rules.d/70-rehost-keep-network.rules")
        == keep_names_udev_rules(
            {{0, "0000:00:03.0", "eth1"}, {1, "0000:00:04.0", "eth0"}, {2, "0000:00:05.0", "eth2"}},
            "kvm"));
  }

  TEST_CASE("--keep-network, wicked, two NICs on systemd (SLES 12 and later)")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    f.dir.write("root/etc/sysconfig/network/ifcfg-eth0",
                "STARTMODE='auto'\nBOOTPROTO='static'\nIPADDR='192.0.2.10/24'\n");
    f.dir.write("root/etc/sysconfig/network/ifcfg-eth1",
                "STARTMODE='auto'\nBOOTPROTO='static'\nIPADDR='10.0.0.2/8'\n");
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "wicked", "/etc/sysconfig/network");
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-0.link")
          == keep_name_link_at("eth0", "virtio_net", "0000:00:03.0", 0, "kvm"));
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net-1.link")
          == keep_name_link_at("eth1", "virtio_net", "0000:00:04.0", 1, "kvm"));
  }

  TEST_CASE("--keep-network, more NICs than the target places: the rest are named by the target")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    f.target.nics.resize(2);
    f.dir.write("root/etc/network/interfaces", "iface eth0 inet dhcp\niface eth1 inet dhcp\n"
                                               "iface eth2 inet dhcp\n");
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "ifupdown", "/etc/network/interfaces");
    CHECK(f.exists("/etc/systemd/network/10-rehost-virtio_net-1.link"));
    CHECK_FALSE(f.exists("/etc/systemd/network/10-rehost-virtio_net-2.link"));
    REQUIRE(record.warnings.size() == 1);
    CHECK(record.warnings[0]
          == "the kvm profile places 2 NICs (network.nics): eth2 keeps its configuration but "
             "gets the name the target gives it");
  }

  TEST_CASE("--keep-network on a target that places no NICs: the primary as before, a warning "
            "for the others")
  {
    Fixture f;
    f.keep_network = true;
    f.target.name = "azure";
    f.target.network_drivers = {"hv_netvsc"};
    f.target.first_interface = "eth0";
    REQUIRE(f.target.nics.empty());
    f.dir.write("root/etc/network/interfaces", "iface ens192 inet static\n  address 192.0.2.1/24\n"
                                               "iface ens224 inet static\n  address 10.0.0.1/8\n");
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "ifupdown", "/etc/network/interfaces");
    CHECK(f.read("/etc/systemd/network/10-rehost-hv_netvsc.link")
          == keep_name_link("ens192", "hv_netvsc", "azure"));
    CHECK(record.changes.size() == 1);
    REQUIRE(record.warnings.size() == 1);
    CHECK(record.warnings[0].starts_with(
        "azure gives rehost no position of its NICs (no network.nics in its profile): ens224 "
        "keeps its configuration but gets the name the target gives it; only ens192 keeps its "
        "name, by the network driver"));
    // The primary already has the target's name: nothing written, the warning stays.
    Fixture g;
    g.keep_network = true;
    g.target = f.target;
    g.dir.write("root/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nIPADDR=1.2.3.4\n");
    g.dir.write("root/etc/sysconfig/network-scripts/ifcfg-eth1", "DEVICE=eth1\nIPADDR=1.2.3.5\n");
    ActionRecord second;
    REQUIRE(g.run(make_action("network_dhcp",
                              {{"style", "ifcfg"}, {"path", "/etc/sysconfig/network-scripts"}}),
                  second));
    CHECK(second.changes.empty());
    REQUIRE(second.warnings.size() == 1);
    CHECK(second.warnings[0].ends_with("only eth0 keeps its name"));
  }

  TEST_CASE("--keep-network with one NIC on a target that places NICs: bound by driver, as "
            "before")
  {
    Fixture f;
    f.keep_network = true;
    f.target = kvm_placed();
    f.dir.write("root/etc/network/interfaces", "auto lo\niface lo inet loopback\n"
                                               "iface ens192 inet static\n  address 192.0.2.1/24\n"
                                               "iface ens192 inet6 auto\n");
    f.dir.write("root/usr/lib/systemd/systemd-udevd", "");
    ActionRecord record = run_network_dhcp(f, "ifupdown", "/etc/network/interfaces");
    CHECK(f.read("/etc/systemd/network/10-rehost-virtio_net.link")
          == keep_name_link("ens192", "virtio_net", "kvm"));
    CHECK_FALSE(f.exists("/etc/systemd/network/10-rehost-virtio_net-0.link"));
    CHECK(record.changes.size() == 1);
    CHECK(record.warnings.empty());
  }

  TEST_CASE("remove_mac_pinning edits each kind of file in the listed directories")
  {
    Fixture f;
    f.dir.write("root/etc/netplan/50-cloud-init.yaml",
                "network:\n  ethernets:\n    eth0:\n      match:\n        macaddress: aa\n"
                "      set-name: eth0\n      dhcp4: true\n");
    f.dir.write("root/etc/NetworkManager/system-connections/eth0.nmconnection",
                "[ethernet]\nmac-address=AA\n");
    f.dir.write("root/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nHWADDR=aa\n");
    ActionRecord record;
    REQUIRE(f.run(make_action("remove_mac_pinning", {},
                              {{"paths",
                                {"/etc/netplan", "/etc/NetworkManager/system-connections",
                                 "/etc/sysconfig/network-scripts", "/etc/udev/rules.d"}}}),
                  record));
    CHECK(record.changes.size() == 3);
    CHECK(f.read("/etc/netplan/50-cloud-init.yaml")
          == "network:\n  ethernets:\n    eth0:\n      dhcp4: true\n");
    CHECK(f.read("/etc/NetworkManager/system-connections/eth0.nmconnection") == "[ethernet]\n");
    CHECK(f.read("/etc/sysconfig/network-scripts/ifcfg-eth0") == "DEVICE=eth0\n");
  }

  TEST_CASE("shell_var_words adds the target's drivers to SUSE INITRD_MODULES")
  {
    Fixture f;
    f.dir.write("root/etc/sysconfig/kernel", "# modules\nINITRD_MODULES=\"ahci sd_mod\"\n"
                                             "DOMU_INITRD_MODULES=\"xennet\"\n");
    ActionRecord record;
    REQUIRE(f.run(make_action("shell_var_words", {{"path", "/etc/sysconfig/kernel"},
                                                  {"variable", "INITRD_MODULES"},
                                                  {"target_drivers", "true"}}),
                  record));
    CHECK(f.read("/etc/sysconfig/kernel")
          == "# modules\nINITRD_MODULES=\"ahci sd_mod virtio_blk virtio_net\"\n"
             "DOMU_INITRD_MODULES=\"xennet\"\n");
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("device_map renames the old controller's whole disks to the target's")
  {
    Fixture f;
    f.target.first_disk = "/dev/nvme0n1";
    f.dir.write("root/boot/grub2/device.map", "# this device map was generated by anaconda\n"
                                              "(hd0)      /dev/sda\n(hd1)      /dev/sdb\n"
                                              "(hd2) /dev/mapper/mpatha\n");
    ActionRecord record;
    REQUIRE(f.run(make_action("device_map", {{"path", "/boot/grub2/device.map"}}), record));
    CHECK(f.read("/boot/grub2/device.map")
          == "# this device map was generated by anaconda\n"
             "(hd0)      /dev/nvme0n1\n(hd1)      /dev/nvme1n1\n(hd2) /dev/mapper/mpatha\n");
  }
}
