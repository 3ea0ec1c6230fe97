// The registry action type on a Windows directory guest whose hives the fixture builds.
#include "converter/actions.hpp"

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "drivers/registry.hpp"
#include "tests/converter/windows_fixture.hpp"

using namespace rehost;
using drivers::Hive;
using drivers::HiveMode;

namespace {

struct Fixture {
  test::TempDir dir;
  std::string root = test::make_windows_tree(dir, test::windows_release("2019"));
  Inspection inspection;
  TargetProfile target;

  Fixture()
  {
    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    auto in = inspect_guest(**guest, {});
    REQUIRE(in);
    REQUIRE(in->windows);
    inspection = *in;
    target.name = "kvm";
  }

  Result<void> run(const std::string& action, ActionRecord& record)
  {
    auto rule = parse_rule("id: r\ndescription: d\nactions:\n" + action, "r.yaml");
    REQUIRE_MESSAGE(rule, (rule ? "" : rule.error().message));
    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    ActionContext context{**guest, inspection, target};
    return run_action(context, rule->actions.front(), record);
  }

  Hive system()
  {
    auto hive = Hive::open(root + "/WINDOWS/system32/CONFIG/SYSTEM", HiveMode::read_only);
    REQUIRE(hive);
    return std::move(*hive);
  }
};

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("registry sets values of every type in the control set in use, shown as a diff")
  {
    Fixture f;
    REQUIRE(f.inspection.windows->control_set == "ControlSet002");
    ActionRecord record;
    auto r = f.run("  - type: registry\n"
                   "    hive: SYSTEM\n"
                   "    key: CurrentControlSet\\Services\\Tcpip\\Parameters\n"
                   "    values:\n"
                   "      - {name: Hostname, type: sz, data: \"${target.name}-host\"}\n"
                   "      - {name: Path, type: expand_sz, data: \"%SystemRoot%\\\\x\"}\n"
                   "      - {name: KeepAliveTime, type: dword, data: \"0x1b7740\"}\n"
                   "      - {name: Big, type: qword, data: \"4294967298\"}\n"
                   "      - {name: SearchList, type: multi_sz, data: [a.example, b.example]}\n"
                   "      - {name: Blob, type: binary, data: \"01 02 ff\"}\n"
                   "      - {name: \"\", type: sz, data: default}\n",
                   record);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    Hive hive = f.system();
    const std::string key = "ControlSet002\\Services\\Tcpip\\Parameters";
    CHECK(hive.get(key, "Hostname").value()->as_string() == "kvm-host");
    CHECK(hive.get(key, "Path").value()->type == drivers::RegType::expand_sz);
    CHECK(hive.get(key, "KeepAliveTime").value()->as_dword() == 0x1b7740u);
    CHECK(hive.get(key, "Big").value()->data == std::string("\x02\0\0\0\x01\0\0\0", 8));
    CHECK(hive.get(key, "SearchList").value()->as_multi()
          == std::vector<std::string>{"a.example", "b.example"});
    CHECK(hive.get(key, "Blob").value()->data == "\x01\x02\xff");
    CHECK(hive.get(key, "").value()->as_string() == "default");
    CHECK_FALSE(hive.has_key("ControlSet001\\Services\\Tcpip"));
    REQUIRE(record.changes.size() == 1);
    CHECK(record.changes[0].path == "/WINDOWS/system32/CONFIG/SYSTEM");
    CHECK(record.changes[0].diff.find("HKLM\\SYSTEM\\ControlSet002\\Services\\Tcpip\\Parameters "
                                      "(new key)\n+ Hostname = REG_SZ \"kvm-host\"\n")
          != std::string::npos);
  }

  TEST_CASE("registry deletes values and keys")
  {
    Fixture f;
    ActionRecord values;
    REQUIRE(f.run("  - type: registry\n    hive: system\n"
                  "    key: CurrentControlSet\\Services\\VMTools\n"
                  "    delete_values: [ImagePath, NotThere]\n",
                  values));
    ActionRecord key;
    REQUIRE(f.run("  - type: registry\n    hive: SYSTEM\n"
                  "    key: CurrentControlSet\\Services\\vmci\n    delete_key: \"true\"\n",
                  key));
    Hive hive = f.system();
    CHECK_FALSE(hive.get("ControlSet002\\Services\\VMTools", "ImagePath").value());
    CHECK(hive.get("ControlSet002\\Services\\VMTools", "Start").value()->as_dword() == 2u);
    CHECK_FALSE(hive.has_key("ControlSet002\\Services\\vmci"));
    REQUIRE(values.changes.size() == 1);
    CHECK(values.changes[0].diff.find("- ImagePath = REG_EXPAND_SZ") != std::string::npos);
    REQUIRE(key.changes.size() == 1);
    CHECK(key.changes[0].diff == "HKLM\\SYSTEM\\ControlSet002\\Services\\vmci (deleted key)\n");
    // Nothing left to delete: no change recorded.
    ActionRecord again;
    REQUIRE(f.run("  - type: registry\n    hive: SYSTEM\n"
                  "    key: CurrentControlSet\\Services\\vmci\n    delete_key: \"true\"\n",
                  again));
    CHECK(again.changes.empty());
  }

  TEST_CASE("registry problems are load errors; a Linux guest is an error")
  {
    auto error = [](const std::string& action) {
      auto r = parse_rule("id: r\ndescription: d\nactions:\n" + action, "r.yaml");
      return r ? std::string() : r.error().message;
    };
    CHECK(error("  - type: registry\n    hive: SAM\n    key: a\n    delete_key: \"true\"\n")
          == "r.yaml:5:11: hive must be SYSTEM or SOFTWARE");
    CHECK(error("  - type: registry\n    hive: SYSTEM\n    key: a\n"
                "    values: [{name: x, type: dwrod, data: \"1\"}]\n")
          == "r.yaml:7:30: unknown registry type 'dwrod' (did you mean 'dword'?)");
    CHECK(error("  - type: registry\n    hive: SYSTEM\n    key: a\n"
                "    values: [{name: x, type: dword, data: \"0x100000000\"}]\n")
          == "r.yaml:7:43: 0x100000000 is too large");
    CHECK(error("  - type: registry\n    hive: SYSTEM\n    key: a\n"
                "    values: [{name: x, type: sz, dat: y}]\n")
          == "r.yaml:7:34: unknown key 'dat' in an item of values (did you mean 'data'?)\n"
             "r.yaml:7:14: a registry value needs 'data'");
    CHECK(error("  - type: registry\n    hive: SYSTEM\n    key: a\n"
                "    values: [{name: x, type: sz, data: \"${os.nam}\"}]\n")
              .find("unknown variable '${os.nam}' in a registry action")
          != std::string::npos);
    CHECK(error("  - type: registry\n    hive: SYSTEM\n    key: a\n")
          == "r.yaml:4:5: a registry action needs 'values', 'delete_values' or delete_key: "
             "\"true\"");

    test::TempDir dir;
    std::filesystem::create_directories(dir.path() / "root");
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    Inspection linux_guest;
    TargetProfile target;
    ActionContext context{**guest, linux_guest, target};
    auto rule = parse_rule("id: r\ndescription: d\nactions:\n  - type: registry\n    hive: SYSTEM\n"
                           "    key: a\n    delete_key: \"true\"\n",
                           "r.yaml");
    REQUIRE(rule);
    ActionRecord record;
    auto r = run_action(context, rule->actions.front(), record);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "r.yaml:4:5: registry needs a Windows guest");
  }
}
