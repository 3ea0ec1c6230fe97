#include "converter/rules.hpp"

#include <chrono>

#include <doctest/doctest.h>

#include "converter/inspection.hpp"
#include "tests/test_util.hpp"

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
    auto start = std::chrono::steady_clock::now();
    auto set = load_rules({builtin_rules_dir()});
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    REQUIRE_MESSAGE(set, (set ? "" : set.error().message));
    CHECK(ms < 50);
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
    CHECK(why == "os major version is below 10");
    in.os.major = 12;
    in.os.family = "rhel";
    CHECK_FALSE(rule_matches(*rule, in, "kvm", &why));
    CHECK(why == "os family is 'rhel', the rule wants debian");
  }
}
