// The template, set_key_value and set_ini action types, loaded from rule text and run on a
// directory guest.
#include "converter/actions.hpp"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost;

namespace {

// A rule with one action (`action` is its YAML, indented as a list item) in dir/rules/r.yaml.
std::string rule_text(const std::string& action)
{
  return "id: r\ndescription: d\nactions:\n" + action;
}

struct Fixture {
  test::TempDir dir;
  Inspection inspection;
  TargetProfile target;

  Fixture()
  {
    target.name = "aws-nitro";
    target.console = "ttyS0";
    target.first_interface = "ens5";
    inspection.os.id = "ubuntu";
    inspection.os.version_id = "22.04";
    inspection.os.major = 22;
    inspection.os.family = "debian";
    std::filesystem::create_directories(dir.path() / "root");
  }

  Result<Rule> load(const std::string& action)
  {
    return parse_rule(rule_text(action), dir.str() + "/rules/r.yaml");
  }

  // Loads the action and runs it; the record of the run.
  ActionRecord run(const std::string& action)
  {
    auto rule = load(action);
    REQUIRE_MESSAGE(rule, (rule ? "" : rule.error().message));
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    ActionContext context{**guest, inspection, target};
    ActionRecord record;
    auto r = run_action(context, rule->actions.front(), record);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    return record;
  }

  std::string error(const std::string& action)
  {
    auto rule = load(action);
    return rule ? std::string() : rule.error().message;
  }

  std::string read(const std::string& path) { return test::read_file(dir.str() + "/root" + path); }
  unsigned mode(const std::string& path)
  {
    struct stat st {};
    REQUIRE(::stat((dir.str() + "/root" + path).c_str(), &st) == 0);
    return st.st_mode & 07777;
  }
};

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("template writes a file with the target's and the guest's variables")
  {
    Fixture f;
    auto record = f.run("  - type: template\n"
                        "    path: /etc/rehost/${target.name}.conf\n"
                        "    mode: \"0600\"\n"
                        "    content: |\n"
                        "      console=${target.console} nic=${target.first_interface}\n"
                        "      os=${os.id} ${os.version} (${os.major}, ${os.family})\n"
                        "      shell=$${HOME} cost=$5\n");
    CHECK(f.read("/etc/rehost/aws-nitro.conf")
          == "console=ttyS0 nic=ens5\nos=ubuntu 22.04 (22, debian)\nshell=${HOME} cost=$5\n");
    CHECK(f.mode("/etc/rehost/aws-nitro.conf") == 0600);
    REQUIRE(record.changes.size() == 1);
    CHECK(record.changes[0].kind == "created");
    CHECK(record.changes[0].diff.find("+console=ttyS0 nic=ens5") != std::string::npos);
    // The same text again changes nothing; a new one is recorded as a modification.
    CHECK(
        f.run("  - type: template\n    path: /etc/rehost/aws-nitro.conf\n    mode: \"0600\"\n"
              "    content: \"console=${target.console} nic=${target.first_interface}\\nos=${os.id}"
              " ${os.version} (${os.major}, ${os.family})\\nshell=$${HOME} cost=$5\\n\"\n")
            .changes.empty());
    auto again = f.run("  - type: template\n    path: /etc/rehost/aws-nitro.conf\n"
                       "    content: \"x\\n\"\n");
    REQUIRE(again.changes.size() == 1);
    CHECK(again.changes[0].kind == "modified");
    CHECK(f.mode("/etc/rehost/aws-nitro.conf") == 0644);
  }

  TEST_CASE("template reads a source next to the rule and can leave an existing file alone")
  {
    Fixture f;
    f.dir.write("rules/templates/ssm.json", "{\"region\": \"${target.name}\"}\n");
    f.dir.write("root/etc/keep.conf", "mine\n");
    f.run("  - type: template\n    path: /etc/ssm.json\n    source: templates/ssm.json\n");
    CHECK(f.read("/etc/ssm.json") == "{\"region\": \"aws-nitro\"}\n");
    auto kept = f.run("  - type: template\n    path: /etc/keep.conf\n    overwrite: \"false\"\n"
                      "    content: theirs\n");
    CHECK(kept.changes.empty());
    CHECK(f.read("/etc/keep.conf") == "mine\n");
  }

  TEST_CASE("template problems are load errors with file:line:column")
  {
    Fixture f;
    const std::string file = f.dir.str() + "/rules/r.yaml";
    CHECK(f.error("  - type: template\n    path: /x\n    content: \"${os.verison}\"\n")
          == file
                 + ":6:14: unknown variable '${os.verison}' in a template action (did you "
                   "mean '${os.version}'?)");
    CHECK(f.error("  - type: template\n    path: /x\n")
          == file + ":4:5: a template action needs either 'content' or 'source'");
    CHECK(f.error("  - type: template\n    path: /x\n    content: a\n    mode: rw\n")
          == file + ":7:11: mode must be octal, such as \"0644\" or \"0755\"");
    CHECK(f.error("  - type: template\n    path: /x\n    content: a\n    overwrite: no\n")
          == file + ":7:16: overwrite must be \"true\" or \"false\"");
    CHECK(f.error("  - type: template\n    path: /x\n    source: missing.tmpl\n")
          == file + ":6:13: cannot read " + f.dir.str() + "/rules/missing.tmpl");
    f.dir.write("rules/bad.tmpl", "a\n${target.nmae}\n");
    CHECK(f.error("  - type: template\n    path: /x\n    source: bad.tmpl\n")
          == file
                 + ":6:13: unknown variable '${target.nmae}' in a template action (did you "
                   "mean '${target.name}'?) (in bad.tmpl)");
  }

  TEST_CASE("set_key_value edits waagent.conf and sshd_config in place")
  {
    Fixture f;
    f.dir.write("root/etc/waagent.conf", "# Azure\nResourceDisk.Format=y\nLogs.Verbose=n\n");
    auto record = f.run("  - type: set_key_value\n"
                        "    path: /etc/waagent.conf\n"
                        "    set:\n"
                        "      ResourceDisk.Format: n\n"
                        "      Provisioning.Agent: auto\n"
                        "    remove: [Logs.Verbose]\n");
    CHECK(f.read("/etc/waagent.conf")
          == "# Azure\nResourceDisk.Format=n\nProvisioning.Agent=auto\n");
    REQUIRE(record.changes.size() == 1);
    CHECK(record.changes[0].diff.find("-ResourceDisk.Format=y") != std::string::npos);
    CHECK(record.summary
          == "/etc/waagent.conf: ResourceDisk.Format=n, Provisioning.Agent=auto, -Logs.Verbose");

    f.dir.write("root/etc/ssh/sshd_config",
                "#PermitRootLogin yes\nUseDNS yes\nMatch User sftp\n  PermitRootLogin yes\n");
    f.run("  - type: set_key_value\n    path: /etc/ssh/sshd_config\n    separator: \" \"\n"
          "    stop_at: Match\n    set: {PermitRootLogin: \"no\", UseDNS: \"no\"}\n");
    CHECK(f.read("/etc/ssh/sshd_config")
          == "#PermitRootLogin yes\nUseDNS no\nPermitRootLogin no\nMatch User sftp\n"
             "  PermitRootLogin yes\n");
  }

  TEST_CASE("set_key_value leaves a missing file missing unless create is true")
  {
    Fixture f;
    auto skipped = f.run("  - type: set_key_value\n    path: /etc/sysconfig/x\n"
                         "    set: {NIC: \"${target.first_interface}\"}\n");
    CHECK(skipped.changes.empty());
    CHECK_FALSE(std::filesystem::exists(f.dir.path() / "root/etc/sysconfig/x"));
    auto created =
        f.run("  - type: set_key_value\n    path: /etc/sysconfig/x\n    create: \"true\"\n"
              "    set: {NIC: \"${target.first_interface}\"}\n");
    CHECK(f.read("/etc/sysconfig/x") == "NIC=ens5\n");
    REQUIRE(created.changes.size() == 1);
    CHECK(created.changes[0].kind == "created");
  }

  TEST_CASE("set_key_value and set_ini problems are load errors")
  {
    Fixture f;
    const std::string file = f.dir.str() + "/rules/r.yaml";
    CHECK(f.error("  - type: set_key_value\n    path: /x\n")
          == file + ":4:5: a set_key_value action needs 'set' or 'remove'");
    CHECK(f.error("  - type: set_key_value\n    path: /x\n    set: [a, b]\n")
          == file + ":6:10: set must be a mapping of names to strings");
    CHECK(f.error("  - type: set_key_value\n    path: /x\n    set: {A: \"${os.ids}\"}\n")
          == file
                 + ":6:14: unknown variable '${os.ids}' in a set_key_value action (did you mean "
                   "'${os.id}'?)");
    CHECK(f.error("  - type: set_ini\n    path: /x\n    set: {a: b}\n")
          == file + ":4:5: a set_ini action needs 'section'");
    CHECK(
        f.error("  - type: set_ini\n    path: /x\n    section: s\n    set: {a: b}\n    crate: x\n")
        == file + ":8:5: unknown key 'crate' in a set_ini action (did you mean 'create'?)");
  }

  TEST_CASE("set_ini sets keys of one section and creates it when missing")
  {
    Fixture f;
    f.dir.write("root/etc/NetworkManager/NetworkManager.conf",
                "[main]\nplugins=ifupdown,keyfile\n\n[ifupdown]\nmanaged=false\n");
    auto record = f.run("  - type: set_ini\n"
                        "    path: /etc/NetworkManager/NetworkManager.conf\n"
                        "    section: ifupdown\n"
                        "    set: {managed: \"true\"}\n");
    CHECK(f.read("/etc/NetworkManager/NetworkManager.conf")
          == "[main]\nplugins=ifupdown,keyfile\n\n[ifupdown]\nmanaged=true\n");
    REQUIRE(record.changes.size() == 1);
    CHECK(record.changes[0].diff.find("+managed=true") != std::string::npos);
    f.run("  - type: set_ini\n    path: /etc/NetworkManager/NetworkManager.conf\n"
          "    section: keyfile\n    set: {unmanaged-devices: none}\n    remove: [plugins]\n");
    CHECK(f.read("/etc/NetworkManager/NetworkManager.conf")
          == "[main]\nplugins=ifupdown,keyfile\n\n[ifupdown]\nmanaged=true\n\n[keyfile]\n"
             "unmanaged-devices=none\n");
  }
}
