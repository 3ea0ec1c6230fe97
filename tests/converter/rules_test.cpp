#include "converter/rules.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <doctest/doctest.h>

#include "converter/inspection.hpp"
#include "tests/test_util.hpp"

// clang says so through __has_feature, gcc through __SANITIZE_ADDRESS__.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REHOST_HAS_ASAN 1
#endif
#endif
#ifndef REHOST_HAS_ASAN
#define REHOST_HAS_ASAN 0
#endif

using namespace rehost;

namespace {

const char* k_rule = R"(id: demo
description: A demo rule
match:
  family: [debian]
  major_min: 10
actions:
  - type: fstab_to_uuid
    path: /etc/fstab
  - type: rebuild_initramfs
    command: [update-initramfs, -u, -k, "${kernel.version}"]
)";

std::string error_of(const std::string& text)
{
  auto r = parse_rule(text, "rules/x.yaml");
  return r ? std::string() : r.error().message;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("a valid rule loads with its actions and locations")
  {
    auto rule = parse_rule(k_rule, "rules/demo.yaml");
    REQUIRE(rule);
    CHECK(rule->id == "demo");
    CHECK(rule->match.family == std::vector<std::string>{"debian"});
    CHECK(rule->match.major_min == 10);
    REQUIRE(rule->actions.size() == 2);
    CHECK(rule->actions[0].type == "fstab_to_uuid");
    CHECK(rule->actions[0].str("path") == "/etc/fstab");
    CHECK(rule->actions[1].location.text() == "rules/demo.yaml:9:5");
    CHECK(rule->actions[1].list("command").back() == "${kernel.version}");
  }

  TEST_CASE("rule errors name file, line and column, with did-you-mean")
  {
    std::string text = k_rule;
    CHECK(
        error_of(std::string(text).replace(text.find("path:"), 5, "paht:"))
        == "rules/x.yaml:8:5: unknown key 'paht' in a fstab_to_uuid action (did you mean 'path'?)\n"
           "rules/x.yaml:7:5: a fstab_to_uuid action needs 'path'");
    CHECK(
        error_of(std::string(text).replace(text.find("fstab_to_uuid"), 13, "fstab_to_uid"))
        == "rules/x.yaml:7:11: unknown action type 'fstab_to_uid' (did you mean 'fstab_to_uuid'?)");
    CHECK(
        error_of(std::string(text).replace(text.find("kernel.version"), 14, "kernel.verison"))
            .find("rules/x.yaml:10:41: unknown variable '${kernel.verison}' in a rebuild_initramfs "
                  "action (did you mean '${kernel.version}'?)")
        != std::string::npos);
    CHECK(error_of(std::string(text).replace(text.find("major_min: 10"), 13, "major_min: ten"))
          == "rules/x.yaml:5:14: match.major_min must be an integer");
    CHECK(error_of("id: [x\n").find("rules/x.yaml:") == 0);
    CHECK(error_of("id: x\ndescription: y\nactions:\n  - path: /etc/fstab\n")
          == "rules/x.yaml:4:5: an action must be a mapping with a 'type'");
    CHECK(error_of(std::string(text) + "  - type: run\n")
          == "rules/x.yaml:11:5: a run action needs 'command'");
  }

  TEST_CASE("the built-in rules and targets load quickly and are complete")
  {
    // The best of three loads, so that a busy machine does not decide; sanitizers slow every
    // allocation, so their builds get a looser bound.
#if defined(__SANITIZE_ADDRESS__) || REHOST_HAS_ASAN
    const double limit_ms = 200;
#else
    const double limit_ms = 20;
#endif
    double ms = 1e9;
    auto set = load_rules({builtin_rules_dir()});
    for (int round = 0; round < 3; ++round) {
      auto start = std::chrono::steady_clock::now();
      set = load_rules({builtin_rules_dir()});
      ms = std::min(
          ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
    }
    REQUIRE_MESSAGE(set, (set ? "" : set.error().message));
    CHECK_MESSAGE(ms < limit_ms, "loading the built-in rules took " << ms << " ms");
    REQUIRE(set->target("aws-nitro"));
    REQUIRE(set->target("kvm"));
    CHECK(set->target("aws-nitro")->storage_drivers.front() == "nvme");
    CHECK(set->target("aws-nitro")->boot_test.disk == "nvme");
    CHECK(set->target("kvm")->boot_test.nic == "virtio-net-pci");
  }

  TEST_CASE("a later rules directory replaces a rule with the same id")
  {
    test::TempDir tmp;
    tmp.write("a/one.yaml", std::string(k_rule));
    tmp.write(
        "b/other-name.yaml",
        "id: demo\ndescription: replaced\nactions:\n  - type: delete_files\n    paths: [/x]\n");
    tmp.write("a/targets/t1.yaml", "target: t1\ndescription: d\ndrivers: {storage: [nvme]}\n"
                                   "boot_test: {disk: nvme}\n");
    auto set = load_rules({tmp.str() + "/a", tmp.str() + "/b"});
    REQUIRE_MESSAGE(set, (set ? "" : set.error().message));
    REQUIRE(set->rules.size() == 1);
    CHECK(set->rules[0].description == "replaced");
    CHECK(set->target("t1") != nullptr);
  }

  TEST_CASE("a target profile must be in a file of its name and name its storage driver")
  {
    test::TempDir tmp;
    tmp.write("r/targets/t2.yaml", "target: other\ndescription: d\ndrivers: {storage: [nvme]}\n"
                                   "boot_test: {disk: nvme}\n");
    auto set = load_rules({tmp.str() + "/r"});
    REQUIRE_FALSE(set);
    CHECK(set.error().message.find("must be in a file named other.yaml") != std::string::npos);
    auto t = parse_target(
        "target: t\ndescription: d\ndrivers: {network: [ena]}\nboot_test: {disk: nvme}\n",
        "t.yaml");
    REQUIRE_FALSE(t);
    CHECK(t.error().message.find("drivers.storage must name at least one driver")
          != std::string::npos);
    auto ems = parse_target("target: t\ndescription: d\ndrivers: {storage: [nvme]}\n"
                            "boot_test: {disk: nvme}\nwindows: {storage_ids: [x], ems_port: 9}\n",
                            "t.yaml");
    REQUIRE_FALSE(ems);
    CHECK(ems.error().message.find("windows.ems_port must be a COM port number")
          != std::string::npos);
  }

  TEST_CASE("a target profile's network.nics: PCI addresses in order, the first is the first "
            "interface")
  {
    const std::string head = "target: t\ndescription: d\ndrivers: {storage: [nvme]}\n"
                             "boot_test: {disk: nvme}\n";
    auto t = parse_target(head
                              + "network:\n  first_interface: ens5\n  nics:\n"
                                "    - {pci: \"0000:00:05.0\", name: ens5}\n"
                                "    - {pci: \"0000:00:06.0\", name: ens6}\n",
                          "t.yaml");
    REQUIRE(t);
    REQUIRE(t->nics.size() == 2);
    CHECK(t->nics[1].pci == "0000:00:06.0");
    CHECK(t->nics[1].name == "ens6");
    auto bad = parse_target(head
                                + "network:\n  first_interface: ens5\n  nics:\n"
                                  "    - {pci: \"00:06.0\", name: ens6}\n"
                                  "    - {pci: \"0000:00:07.0\", nmae: ens7}\n",
                            "t.yaml");
    REQUIRE_FALSE(bad);
    const std::string& m = bad.error().message;
    CHECK(m.find("network.nics pci '00:06.0' is not a PCI address") != std::string::npos);
    CHECK(m.find("unknown key 'nmae' in an item of network.nics (did you mean 'name'?)")
          != std::string::npos);
    CHECK(m.find("the first of network.nics is named 'ens6', but first_interface is 'ens5'")
          != std::string::npos);
    auto set = load_rules({builtin_rules_dir()});
    REQUIRE(set);
    CHECK(set->target("aws-nitro")->nics.at(1).pci == "0000:00:06.0");
    CHECK(set->target("kvm")->nics.at(1).name == "ens4");
    CHECK(set->target("gcp")->nics.at(1).name == "ens5");
    CHECK(set->target("azure")->nics.empty());
  }

  TEST_CASE("rule_matches checks every condition and says which one failed")
  {
    auto rule = parse_rule(k_rule, "demo.yaml");
    REQUIRE(rule);
    Inspection in;
    in.os.family = "debian";
    in.os.major = 12;
    std::string why;
    CHECK(rule_matches(*rule, in, "kvm", &why));
    in.os.major = 9;
    CHECK_FALSE(rule_matches(*rule, in, "kvm", &why));
    CHECK(why == "os major version 9 is below 10");
    in.os.major = 12;
    in.os.family = "rhel";
    CHECK_FALSE(rule_matches(*rule, in, "kvm", &why));
    CHECK(why == "os family is 'rhel', the rule wants debian");
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("lint: two rules with one id in a file, and an impossible version range")
  {
    auto r = parse_rule_file("id: a\ndescription: x\nactions: []\n---\nid: a\ndescription: y\n"
                             "actions: []\n",
                             "two.yaml");
    REQUIRE_FALSE(r);
    CHECK(r.error().message
          == "two.yaml:5:1: a second rule with id 'a' in this file (the first is at line 1)");
    auto v = parse_rule(
        "id: a\ndescription: x\nmatch:\n  version_min: \"9.2\"\n  version_max: \"9.10\"\n"
        "actions: []\n",
        "v.yaml");
    CHECK(v); // 9.2 < 9.10 as versions
    auto bad =
        parse_rule("id: a\ndescription: x\nmatch:\n  version_min: \"10\"\n  version_max: \"9.4\"\n"
                   "actions: []\n",
                   "v.yaml");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("v.yaml:4:16: match.version_min 10 is above match.version_max "
                                   "9.4: the rule can never match")
          != std::string::npos);
  }

  TEST_CASE("lint: a YAML alias bomb is refused quickly, not expanded")
  {
    std::string bomb = "id: bomb\ndescription: x\nmatch:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    char prev = 'a';
    for (char c = 'b'; c <= 'j'; ++c) {
      bomb += std::string("  ") + c + ": &" + c + " [";
      for (int i = 0; i < 10; ++i) {
        bomb += std::string(i ? ", " : "") + "*" + prev;
      }
      bomb += "]\n";
      prev = c;
    }
    bomb += "actions: []\n";
    auto start = std::chrono::steady_clock::now();
    auto r = parse_rule(bomb, "bomb.yaml");
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("YAML aliases expand to more than 100000 nodes; refused")
          != std::string::npos);
    CHECK(ms < 200);
  }

  TEST_CASE("lint: a text yaml-cpp reads as endless documents is refused, not looped on")
  {
    // Found by fuzz_rules: yaml-cpp 0.7 reports document after document for this, forever.
    auto start = std::chrono::steady_clock::now();
    auto rule = parse_rule("!!nu,lttl", "loop.yaml");
    auto target = parse_target("!!nu,lttl", "loop.yaml");
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    REQUIRE_FALSE(rule);
    CHECK(rule.error().message.find("loop.yaml:1:") == 0);
    CHECK(rule.error().message.find("more than 64 YAML documents; refused") != std::string::npos);
    CHECK_FALSE(target);
    CHECK(ms < 1000);
  }

  TEST_CASE("a rule extends another: the base's match and actions come first")
  {
    test::TempDir tmp;
    tmp.write("a/base.yaml", "id: base\ndescription: b\nmatch:\n  family: [debian]\nactions:\n"
                             "  - type: delete_files\n    paths: [/etc/a]\n");
    tmp.write("b/child.yaml", "id: child\ndescription: c\nextends: base\nmatch:\n  major_min: 12\n"
                              "actions:\n  - type: delete_files\n    paths: [/etc/b]\n");
    auto set = load_rules({tmp.str() + "/a", tmp.str() + "/b"});
    REQUIRE_MESSAGE(set, (set ? "" : set.error().message));
    const Rule& child = set->rules[1];
    CHECK(child.match.family == std::vector<std::string>{"debian"});
    CHECK(child.match.major_min == 12);
    REQUIRE(child.actions.size() == 2);
    CHECK(child.actions[0].list("paths") == std::vector<std::string>{"/etc/a"});
    CHECK(child.actions[1].list("paths") == std::vector<std::string>{"/etc/b"});
    tmp.write("c/bad.yaml", "id: bad\ndescription: c\nextends: bsae\n");
    auto broken = load_rules({tmp.str() + "/a", tmp.str() + "/c"});
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message.find("rule 'bad' extends 'bsae', which does not exist (did you "
                                      "mean 'base'?)")
          != std::string::npos);
  }

  TEST_CASE("rules come from the built-ins, REHOST_RULES_PATH, the config file, then --rules-dir")
  {
    test::TempDir tmp;
    tmp.write("env/x.yaml", "id: x\ndescription: from env\nactions: []\n");
    tmp.write("conf/x.yaml", "id: x\ndescription: from config\nactions: []\n");
    tmp.write("cli/y.yaml", "id: y\ndescription: from cli\nactions: []\n");
    tmp.write("config.yaml", "rules_dirs: [conf]\n");
    setenv("REHOST_RULES_PATH", (tmp.str() + "/env").c_str(), 1);
    setenv("REHOST_CONFIG", (tmp.str() + "/config.yaml").c_str(), 1);
    auto dirs = rules_search_path({tmp.str() + "/cli"});
    unsetenv("REHOST_RULES_PATH");
    unsetenv("REHOST_CONFIG");
    REQUIRE(dirs);
    REQUIRE(dirs->size() == 4);
    CHECK((*dirs)[0] == builtin_rules_dir());
    CHECK((*dirs)[1] == tmp.str() + "/env");
    CHECK((*dirs)[2] == tmp.str() + "/conf");
    CHECK((*dirs)[3] == tmp.str() + "/cli");
    auto set = load_rules(*dirs);
    REQUIRE(set);
    auto x = std::find_if(set->rules.begin(), set->rules.end(),
                          [](const Rule& r) { return r.id == "x"; });
    REQUIRE(x != set->rules.end());
    CHECK(x->description == "from config");
    CHECK(x->replaced == std::vector<std::string>{tmp.str() + "/env/x.yaml"});
  }

  TEST_CASE("lint_rules reports every problem of every file, one per line")
  {
    test::TempDir tmp;
    tmp.write("r/good.yaml", "id: good\ndescription: g\nactions: []\n");
    tmp.write("r/syntax.yaml", "id: [unclosed\n");
    tmp.write("r/keys.yaml",
              "id: k\ndescripton: typo\nactions:\n  - type: delete_fils\n    paths: [/x]\n"
              "  - type: run\n    command: \"${target.nmae}\"\n");
    tmp.write("r/targets/t.yaml", "target: t\ndescription: d\ndrivers: {storage: nvme}\n"
                                  "boot_test: {disk: [a, b]}\n");
    auto lines = lint_rules({tmp.str() + "/r"});
    std::string all;
    for (const auto& l : lines) {
      all += l + "\n";
    }
    INFO(all);
    CHECK(
        all.find("keys.yaml:2:1: unknown key 'descripton' in a rule (did you mean 'description'?)")
        != std::string::npos);
    CHECK(
        all.find("keys.yaml:4:11: unknown action type 'delete_fils' (did you mean 'delete_files'?)")
        != std::string::npos);
    CHECK(all.find("keys.yaml:7:14: unknown variable '${target.nmae}' in a run action (did you "
                   "mean '${target.name}'?)")
          != std::string::npos);
    CHECK(all.find("syntax.yaml:2:1: YAML syntax error") != std::string::npos);
    CHECK(all.find("t.yaml:4:19: disk must be a string") != std::string::npos);
    CHECK(all.find("good.yaml") == std::string::npos);
  }
}

#include "converter/actions.hpp"
#include "converter/dir_guest.hpp"

TEST_SUITE("unit")
{
  TEST_CASE("each built-in family rule matches its own guests and no other's")
  {
    auto set = load_rules({builtin_rules_dir()});
    REQUIRE(set);
    struct Guest {
      std::string family, bootloader, initramfs_tool, rule;
    };
    for (const auto& g : std::vector<Guest>{{"debian", "grub2", "initramfs-tools", "debian-family"},
                                            {"debian", "grub2", "dracut", "debian-dracut"},
                                            {"rhel", "grub2", "dracut", "rhel-family"},
                                            {"rhel", "grub-legacy", "dracut", "rhel-grub-legacy"},
                                            {"suse", "grub2", "dracut", "suse-family"},
                                            {"suse", "grub-legacy", "mkinitrd", "suse-grub-legacy"},
                                            {"arch", "grub2", "mkinitcpio", "arch-family"}}) {
      Inspection in;
      in.os.family = g.family;
      in.bootloader = g.bootloader;
      in.initramfs_tool = g.initramfs_tool;
      std::vector<std::string> matched;
      for (const auto& r : set->rules) {
        if (rule_matches(r, in, "kvm")) {
          matched.push_back(r.id);
        }
      }
      CHECK(matched == std::vector<std::string>{g.rule});
    }
  }

  TEST_CASE("the rhel-family rule's file edits convert a RHEL 9 guest for KVM")
  {
    auto set = load_rules({builtin_rules_dir()});
    REQUIRE(set);
    auto rule = std::find_if(set->rules.begin(), set->rules.end(),
                             [](const Rule& r) { return r.id == "rhel-family"; });
    REQUIRE(rule != set->rules.end());
    test::TempDir dir;
    dir.write("root/etc/default/grub",
              "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"crashkernel=1G-4G:192M "
              "rd.lvm.lv=rhel/root console=tty0\"\n");
    dir.write("root/boot/loader/entries/m-5.14.0-362.el9.x86_64.conf",
              "title RHEL\nversion 5.14.0-362.el9.x86_64\nlinux /vmlinuz-5.14.0-362.el9.x86_64\n"
              "options root=/dev/mapper/rhel-root ro console=tty0\n");
    dir.write("root/boot/loader/entries/m-5.14.0-70.el9.x86_64.conf",
              "title RHEL\nversion 5.14.0-70.el9.x86_64\nlinux /vmlinuz-5.14.0-70.el9.x86_64\n"
              "options root=/dev/mapper/rhel-root ro console=tty0\n");
    std::string env = "# GRUB Environment Block\nsaved_entry=m-5.14.0-362.el9.x86_64\n";
    env.append(1024 - env.size(), '#');
    dir.write("root/boot/grub2/grubenv", env);
    dir.write(
        "root/etc/sysconfig/network-scripts/ifcfg-ens192",
        "DEVICE=ens192\nBOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\nHWADDR=00:50:56:aa:bb:cc\n"
        "ONBOOT=yes\n");
    dir.write("root/etc/selinux/config", "SELINUX=enforcing\n");
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    Inspection in;
    in.os.family = "rhel";
    in.default_kernel = "5.14.0-362.el9.x86_64";
    for (const char* v : {"5.14.0-362.el9.x86_64", "5.14.0-70.el9.x86_64"}) {
      KernelInfo k;
      k.version = v;
      k.image = std::string("/boot/vmlinuz-") + v;
      auto state = k.version == "5.14.0-70.el9.x86_64" ? drivers::DriverState::module
                                                       : drivers::DriverState::missing;
      for (const auto& d : set->target("kvm")->all_drivers()) {
        k.drivers[d] = state;
      }
      in.kernels.push_back(k);
    }
    ActionContext context{**guest, in, *set->target("kvm")};
    for (const auto& action : rule->actions) {
      if (action.type == "run" || action.type == "rebuild_initramfs"
          || action.type == "remove_packages") {
        continue; // these run the guest's own tools
      }
      ActionRecord record;
      auto r = run_action(context, action, record);
      CHECK_MESSAGE(r, action.type << ": " << (r ? "" : r.error().message));
    }
    auto read = [&](const std::string& p) { return test::read_file(dir.str() + "/root" + p); };
    CHECK(read("/etc/default/grub").find("rd.lvm.lv=rhel/root console=ttyS0\"")
          != std::string::npos);
    CHECK(read("/boot/loader/entries/m-5.14.0-70.el9.x86_64.conf")
              .ends_with("options root=/dev/mapper/rhel-root ro console=ttyS0\n"));
    CHECK(read("/boot/grub2/grubenv").find("saved_entry=m-5.14.0-70.el9.x86_64\n")
          != std::string::npos);
    CHECK(read("/etc/sysconfig/network-scripts/ifcfg-ens3")
          == "DEVICE=ens3\nBOOTPROTO=dhcp\nONBOOT=yes\n");
    CHECK(std::filesystem::exists(dir.str() + "/root/.autorelabel"));
    CHECK(read("/etc/dracut.conf.d/90-rehost-target.conf").find("virtio_blk") != std::string::npos);
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("the debian-family rule makes the kernel with the target's disk driver the default")
  {
    auto set = load_rules({builtin_rules_dir()});
    REQUIRE(set);
    auto rule = std::find_if(set->rules.begin(), set->rules.end(),
                             [](const Rule& r) { return r.id == "debian-family"; });
    REQUIRE(rule != set->rules.end());
    test::TempDir dir;
    dir.write("root/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n");
    // What update-grub writes for two kernels: the newest first, then the others in a submenu.
    dir.write(
        "root/boot/grub/grub.cfg",
        "menuentry 'Debian GNU/Linux' {\n\tlinux /boot/vmlinuz-6.1.0-99-amd64 root=/dev/sda1\n}\n"
        "submenu 'Advanced options for Debian GNU/Linux' {\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-99-amd64' {\n"
        "\t\tlinux /boot/vmlinuz-6.1.0-99-amd64 root=/dev/sda1\n\t}\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-99-amd64 (recovery mode)' {\n"
        "\t\tlinux /boot/vmlinuz-6.1.0-99-amd64 root=/dev/sda1 single\n\t}\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-50-amd64' {\n"
        "\t\tlinux /boot/vmlinuz-6.1.0-50-amd64 root=/dev/sda1\n\t}\n"
        "}\n");
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    const TargetProfile& nitro = *set->target("aws-nitro");
    Inspection in;
    in.os.family = "debian";
    in.bootloader = "grub2";
    in.bootloader_config = "/boot/grub/grub.cfg";
    in.default_kernel = "6.1.0-99-amd64";
    for (const char* v : {"6.1.0-99-amd64", "6.1.0-50-amd64"}) {
      KernelInfo k;
      k.version = v;
      k.image = std::string("/boot/vmlinuz-") + v;
      for (const auto& d : nitro.all_drivers()) {
        k.drivers[d] = k.version == "6.1.0-50-amd64" || d == "ena" ? drivers::DriverState::module
                                                                   : drivers::DriverState::missing;
      }
      in.kernels.push_back(k);
    }
    ActionContext context{**guest, in, nitro};
    bool ran = false;
    for (const auto& action : rule->actions) {
      if (action.type != "default_kernel") {
        continue;
      }
      ActionRecord record;
      auto r = run_action(context, action, record);
      REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
      CHECK(record.notes
            == std::vector<std::string>{"6.1.0-99-amd64 passed over: it lacks nvme, nvme_core"});
      ran = true;
    }
    CHECK(ran);
    CHECK(test::read_file(dir.str() + "/root/etc/default/grub")
          == "GRUB_DEFAULT=\"1>2\"\nGRUB_TIMEOUT=5\n");
  }
}
