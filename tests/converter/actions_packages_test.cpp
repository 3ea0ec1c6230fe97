// The install_packages action type on a directory guest whose commands are recorded, not run.
#include "converter/actions.hpp"

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost;

namespace {

struct Fixture {
  test::TempDir dir;
  Inspection inspection;
  TargetProfile target;
  std::string packages_dir;
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> seen; // guest copies present while the command ran
  int exit_status = 0;

  Fixture()
  {
    target.name = "aws-nitro";
    std::filesystem::create_directories(dir.path() / "root/var/cache");
    dir.write("packages/aws/amazon-ssm-agent_3.3.0_amd64.deb", "deb bytes");
    dir.write("packages/aws/ec2-instance-connect_1.1_all.deb", "other");
    dir.write("packages/aws/readme.txt", "not a package");
    packages_dir = dir.str() + "/packages";
  }

  Result<void> run(const std::string& action, ActionRecord& record)
  {
    auto rule =
        parse_rule("id: r\ndescription: d\nactions:\n" + action, dir.str() + "/rules/r.yaml");
    REQUIRE_MESSAGE(rule, (rule ? "" : rule.error().message));
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    const std::string root = dir.str() + "/root";
    (*guest)->set_runner(
        [&, root](const std::vector<std::string>& argv,
                  std::chrono::seconds) -> Result<CommandResult> {
          commands.push_back(argv);
          for (const auto& word : argv) {
            if (word.rfind("/var/cache/", 0) == 0) {
              seen.push_back(word + ": " + test::read_file(root + word));
            }
          }
          return CommandResult{exit_status, exit_status ? "dpkg: error\n" : "", ""};
        },
        "recorded");
    ActionContext context{**guest, inspection, target};
    context.packages_dir = packages_dir;
    return run_action(context, rule->actions.front(), record);
  }
};

const std::string k_ssm = "  - type: install_packages\n"
                          "    dir: aws\n"
                          "    packages: [\"amazon-ssm-agent_*.deb\"]\n"
                          "    command: [dpkg, -i, \"${packages}\"]\n";

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("install_packages copies the matching packages in, runs the tool, removes the copies")
  {
    Fixture f;
    ActionRecord record;
    auto r = f.run(k_ssm, record);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    REQUIRE(f.commands.size() == 1);
    CHECK(f.commands[0]
          == std::vector<std::string>{
              "dpkg", "-i", "/var/cache/rehost-packages/amazon-ssm-agent_3.3.0_amd64.deb"});
    CHECK(f.seen
          == std::vector<std::string>{
              "/var/cache/rehost-packages/amazon-ssm-agent_3.3.0_amd64.deb: deb bytes"});
    CHECK_FALSE(std::filesystem::exists(f.dir.path() / "root/var/cache/rehost-packages"));
    REQUIRE(record.commands.size() == 1);
    CHECK(record.summary
          == "installed amazon-ssm-agent_3.3.0_amd64.deb from " + f.packages_dir + "/aws");
  }

  TEST_CASE("install_packages: a failing tool fails the action and the copies still go")
  {
    Fixture f;
    f.exit_status = 1;
    ActionRecord record;
    auto r = f.run(k_ssm, record);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("exit status 1: dpkg: error") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(f.dir.path() / "root/var/cache/rehost-packages"));
  }

  TEST_CASE("install_packages: a missing package is an error, or a warning when optional")
  {
    Fixture f;
    ActionRecord record;
    const std::string missing = "  - type: install_packages\n"
                                "    dir: aws\n"
                                "    packages: [\"*.deb\", \"walinuxagent_*.deb\"]\n"
                                "    command: [dpkg, -i, \"${packages}\"]\n";
    auto r = f.run(missing, record);
    REQUIRE_FALSE(r);
    CHECK(r.error().message
          == "no package in " + f.packages_dir + "/aws matches walinuxagent_*.deb");
    CHECK(f.commands.empty());

    ActionRecord optional;
    REQUIRE(f.run(missing + "    optional: \"true\"\n", optional));
    CHECK(f.commands.empty());
    REQUIRE(optional.warnings.size() == 1);
    CHECK(optional.warnings[0].find("walinuxagent_*.deb; the packages were not installed")
          != std::string::npos);

    // A relative directory needs --packages-dir; an absolute one does not.
    f.packages_dir.clear();
    ActionRecord relative;
    auto no_dir = f.run(k_ssm, relative);
    REQUIRE_FALSE(no_dir);
    CHECK(no_dir.error().message.find("no --packages-dir") != std::string::npos);
    // Optional packages nobody provided are a note, not a warning.
    ActionRecord not_asked;
    REQUIRE(f.run(k_ssm + "    optional: \"true\"\n", not_asked));
    CHECK(not_asked.warnings.empty());
    CHECK(not_asked.notes
          == std::vector<std::string>{"no --packages-dir: amazon-ssm-agent_*.deb not installed"});
    ActionRecord absolute;
    std::string abs = k_ssm;
    abs.replace(abs.find("dir: aws"), 8, "dir: " + f.dir.str() + "/packages/aws");
    REQUIRE(f.run(abs, absolute));
    CHECK(f.commands.size() == 1);
  }

  TEST_CASE("install_packages problems are load errors")
  {
    auto error = [](const std::string& action) {
      auto r = parse_rule("id: r\ndescription: d\nactions:\n" + action, "r.yaml");
      return r ? std::string() : r.error().message;
    };
    CHECK(error("  - type: install_packages\n    dir: a\n    packages: [x.deb]\n"
                "    command: [dpkg, -i, x.deb]\n")
          == "r.yaml:7:14: the command must name ${packages}");
    CHECK(error("  - type: install_packages\n    dir: a\n    packages: [x.deb]\n"
                "    command: [dpkg, -i, \"${package}\"]\n")
          == "r.yaml:7:25: unknown variable '${package}' in a install_packages action (did you "
             "mean '${packages}'?)\n"
             "r.yaml:7:14: the command must name ${packages}");
    CHECK(error("  - type: install_packages\n    dir: a\n    packages: [x.deb]\n"
                "    command: [rpm, -Uvh, \"${packages}\"]\n    optional: yes\n")
          == "r.yaml:8:15: optional must be \"true\" or \"false\"");
  }
}
