// The firstboot action type on directory guests with systemd, rc.local, SysV init, or none.
#include "converter/actions.hpp"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  test::TempDir dir;
  Inspection inspection;
  TargetProfile target;

  Fixture()
  {
    target.name = "gcp";
    target.first_interface = "ens4";
    fs::create_directories(dir.path() / "root/etc");
  }

  Result<void> run(const std::string& action, ActionRecord& record)
  {
    auto rule =
        parse_rule("id: r\ndescription: d\nactions:\n" + action, dir.str() + "/rules/r.yaml");
    REQUIRE_MESSAGE(rule, (rule ? "" : rule.error().message));
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    ActionContext context{**guest, inspection, target};
    return run_action(context, rule->actions.front(), record);
  }
  ActionRecord must_run(const std::string& action)
  {
    ActionRecord record;
    auto r = run(action, record);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    return record;
  }
  std::string read(const std::string& path) { return test::read_file(dir.str() + "/root" + path); }
  fs::path at(const std::string& path) const { return dir.path() / ("root" + path); }
};

std::string script(const std::string& name, const std::string& order, const std::string& text)
{
  return "  - type: firstboot\n    name: " + name + "\n    order: \"" + order
         + "\"\n    content: \"" + text + "\"\n";
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("firstboot on a systemd guest: script, runner, oneshot unit enabled by a link")
  {
    Fixture f;
    f.dir.write("root/usr/lib/systemd/systemd", "");
    fs::create_directories(f.at("/sbin"));
    fs::create_symlink("../usr/lib/systemd/systemd", f.at("/sbin/init"));
    auto record = f.must_run(script("nic", "20", "echo ${target.first_interface}\\n"));
    CHECK(f.read("/usr/lib/rehost/firstboot/20-nic.sh") == "echo ens4\n");
    struct stat st {};
    REQUIRE(::stat(f.at("/usr/lib/rehost/firstboot/20-nic.sh").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);
    std::string unit = f.read("/etc/systemd/system/rehost-firstboot.service");
    CHECK(unit.find("Type=oneshot") != std::string::npos);
    CHECK(unit.find("ExecStart=/usr/lib/rehost/rehost-firstboot") != std::string::npos);
    CHECK(unit.find("ConditionPathExists=!/var/lib/rehost/firstboot-done") != std::string::npos);
    auto link = f.at("/etc/systemd/system/multi-user.target.wants/rehost-firstboot.service");
    REQUIRE(fs::is_symlink(link));
    CHECK(fs::read_symlink(link) == "/etc/systemd/system/rehost-firstboot.service");
    std::string runner = f.read("/usr/lib/rehost/rehost-firstboot");
    CHECK(runner.find("/var/log/rehost-firstboot.log") != std::string::npos);
    CHECK(runner.find("firstboot-status") != std::string::npos);
    CHECK(runner.find("rm -f /etc/systemd/system/multi-user.target.wants/rehost-firstboot.service")
          != std::string::npos);
    // Unit, link, runner, script: each recorded, the link with what it points at.
    REQUIRE(record.changes.size() == 4);
    CHECK(record.changes[1].diff.find("-> /etc/systemd/system/rehost-firstboot.service")
          != std::string::npos);
    CHECK(record.changes[3].diff.find("+echo ens4") != std::string::npos);
    CHECK(record.details["firstboot"]
          == nlohmann::json::array({"/usr/lib/rehost/firstboot/20-nic.sh"}));

    // A second script adds only itself; the runner is shared.
    auto second = f.must_run(script("agent", "5", "true\\n"));
    REQUIRE(second.changes.size() == 1);
    CHECK(second.changes[0].path == "/usr/lib/rehost/firstboot/05-agent.sh");
  }

  TEST_CASE("the runner runs the scripts once, in order, logs them and disables itself")
  {
    if (!test::have_tool_or_skip("sh")) {
      return;
    }
    Fixture f;
    f.dir.write("root/usr/lib/systemd/systemd", "");
    f.must_run(script("b", "50", "echo b >>/tmp/order\\n"));
    f.must_run(script("a", "50", "echo a >>/tmp/order; exit 3\\n"));
    f.must_run(script("z", "10", "echo z >>/tmp/order\\n"));
    // Run the runner on the host with the guest's paths moved under the test directory.
    std::string runner = f.read("/usr/lib/rehost/rehost-firstboot");
    const std::string root = f.dir.str() + "/root";
    for (const std::string path : {"/usr/lib/rehost/firstboot", "/var/log/", "/var/lib/rehost",
                                   "/etc/systemd/", "/etc/rc", "/tmp/order"}) {
      size_t at = 0;
      while ((at = runner.find(path, at)) != std::string::npos) {
        runner.insert(at, root);
        at += root.size() + path.size();
      }
    }
    for (const auto& name : {"05-b.sh", "50-a.sh", "50-b.sh", "10-z.sh"}) {
      std::string p = root + "/usr/lib/rehost/firstboot/" + name;
      if (fs::exists(p)) {
        std::string text = test::read_file(p);
        text.replace(text.find("/tmp/order"), 10, root + "/tmp/order");
        f.dir.write(std::string("root/usr/lib/rehost/firstboot/") + name, text);
      }
    }
    fs::create_directories(f.at("/tmp"));
    fs::create_directories(f.at("/var/log"));
    f.dir.write("runner.sh", runner);
    test::must_run({"sh", f.dir.str() + "/runner.sh"});
    CHECK(f.read("/tmp/order") == "z\na\nb\n");
    CHECK(f.read("/var/lib/rehost/firstboot-status") == "10-z.sh 0\n50-a.sh 3\n50-b.sh 0\n");
    CHECK(f.read("/var/log/rehost-firstboot.log").find("50-a.sh exited with status 3")
          != std::string::npos);
    CHECK(fs::exists(f.at("/var/lib/rehost/firstboot-done")));
    CHECK_FALSE(fs::is_symlink(
        f.at("/etc/systemd/system/multi-user.target.wants/rehost-firstboot.service")));
    // Once done, it runs nothing again.
    test::must_run({"sh", f.dir.str() + "/runner.sh"});
    CHECK(f.read("/tmp/order") == "z\na\nb\n");
  }

  TEST_CASE("firstboot without systemd: a line in rc.local before its exit 0")
  {
    Fixture f;
    f.dir.write("root/etc/rc.local", "#!/bin/sh -e\n# rc.local\n\nexit 0\n");
    // systemd is installed but not the init: /sbin/init is sysvinit's.
    f.dir.write("root/lib/systemd/systemd", "");
    f.dir.write("root/sbin/init", "sysvinit");
    auto record = f.must_run(script("nic", "20", "true\\n"));
    CHECK(f.read("/etc/rc.local")
          == "#!/bin/sh -e\n# rc.local\n\n/usr/lib/rehost/rehost-firstboot\nexit 0\n");
    CHECK_FALSE(fs::exists(f.at("/etc/systemd/system/rehost-firstboot.service")));
    CHECK(record.summary.find("run by /etc/rc.local") != std::string::npos);
    // Registering again adds no second line.
    f.must_run(script("more", "30", "true\\n"));
    CHECK(f.read("/etc/rc.local")
          == "#!/bin/sh -e\n# rc.local\n\n/usr/lib/rehost/rehost-firstboot\nexit 0\n");
  }

  TEST_CASE("firstboot without systemd or rc.local: a SysV init script; with nothing: an error")
  {
    Fixture f;
    fs::create_directories(f.at("/etc/init.d"));
    fs::create_directories(f.at("/etc/rc3.d"));
    fs::create_directories(f.at("/etc/rc5.d"));
    f.must_run(script("nic", "20", "true\\n"));
    CHECK(f.read("/etc/init.d/rehost-firstboot").find("start) /usr/lib/rehost/rehost-firstboot")
          != std::string::npos);
    CHECK(fs::read_symlink(f.at("/etc/rc3.d/S99rehost-firstboot")) == "../init.d/rehost-firstboot");
    CHECK(fs::is_symlink(f.at("/etc/rc5.d/S99rehost-firstboot")));

    Fixture bare;
    ActionRecord record;
    auto r = bare.run(script("nic", "20", "true\\n"), record);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("neither systemd, nor rc.local") != std::string::npos);
    CHECK_FALSE(fs::exists(bare.at("/usr/lib/rehost")));
  }

  TEST_CASE("firstboot problems are load errors")
  {
    auto error = [](const std::string& action) {
      auto r = parse_rule("id: r\ndescription: d\nactions:\n" + action, "r.yaml");
      return r ? std::string() : r.error().message;
    };
    CHECK(error("  - type: firstboot\n    name: a b\n    content: x\n")
          == "r.yaml:5:11: name may hold only letters, digits, '-' and '_'");
    CHECK(error("  - type: firstboot\n    name: a\n    order: \"100\"\n    content: x\n")
          == "r.yaml:6:12: order must be a number from 0 to 99");
    CHECK(error("  - type: firstboot\n    name: a\n")
          == "r.yaml:4:5: a firstboot action needs either 'content' or 'source'");
  }
}
