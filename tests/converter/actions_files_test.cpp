// The run action type and its ${bootloader.config}: the grub.cfg grub2-mkconfig writes is the
// one the guest's firmware reads, as inspection of the fixture guests finds it.
#include "converter/actions.hpp"

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "converter/inspection.hpp"
#include "tests/fixture_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
namespace fs = std::filesystem;

namespace {

// A fixture guest as a directory, inspected; its commands are recorded, and an `-o FILE`
// argument gets FILE written, as grub2-mkconfig does.
struct FixtureGuest {
  test::TempDir dir;
  std::optional<Inspection> inspection;
  std::vector<std::vector<std::string>> commands;

  explicit FixtureGuest(const std::string& fixture, const std::vector<std::string>& removed = {})
  {
    for (const auto& f : test::linux_fixture_files()) {
      if (f.stem() == fixture) {
        test::build_fixture(test::read_fixture(f), dir.path() / "root");
      }
    }
    REQUIRE(fs::exists(dir.path() / "root/etc/os-release"));
    for (const auto& path : removed) {
      REQUIRE(fs::remove(dir.path() / "root" / path.substr(1)));
    }
    auto guest = DirGuest::open(root());
    REQUIRE(guest);
    inspection = inspect_guest(**guest, DiskInfo{});
    REQUIRE(inspection);
  }

  std::string root() const { return dir.str() + "/root"; }

  Result<void> run(const Action& action, ActionRecord& record)
  {
    auto guest = DirGuest::open(root());
    REQUIRE(guest);
    (*guest)->set_runner(
        [this](const std::vector<std::string>& argv,
               std::chrono::seconds) -> Result<CommandResult> {
          commands.push_back(argv);
          for (size_t i = 0; i + 1 < argv.size(); ++i) {
            if (argv[i] == "-o") {
              std::ofstream(root() + argv[i + 1]) << "menuentry 'generated' {\n}\n";
            }
          }
          return CommandResult{0, "", ""};
        },
        "recorded");
    TargetProfile target;
    target.name = "kvm";
    ActionContext context{**guest, *inspection, target};
    return run_action(context, action, record);
  }

  std::string read(const std::string& path) const { return test::read_file(root() + path); }
};

// The grub2-mkconfig action of the built-in rule `id`.
Action mkconfig_action(const std::string& id)
{
  auto set = load_rules({builtin_rules_dir()});
  REQUIRE(set);
  for (const auto& rule : set->rules) {
    for (const auto& a : rule.actions) {
      if (rule.id == id && a.type == "run" && a.list("command").front() == "grub2-mkconfig") {
        return a;
      }
    }
  }
  FAIL("no grub2-mkconfig action in " << id);
  return {};
}

// Runs the grub2-mkconfig action of rule `id` on `g`, which must succeed and run
// `grub2-mkconfig -o output` alone.
ActionRecord run_mkconfig(FixtureGuest& g, const std::string& id, const std::string& output)
{
  ActionRecord record;
  auto r = g.run(mkconfig_action(id), record);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(g.commands == std::vector<std::vector<std::string>>{{"grub2-mkconfig", "-o", output}});
  return record;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("RHEL 7 on UEFI: grub2-mkconfig writes the ESP's grub.cfg, the one its firmware reads")
  {
    FixtureGuest g("rhel-7.9-uefi");
    ActionRecord record = run_mkconfig(g, "rhel-family", "/boot/efi/EFI/redhat/grub.cfg");
    REQUIRE(record.changes.size() == 1);
    CHECK(record.changes[0].path == "/boot/efi/EFI/redhat/grub.cfg");
    CHECK(record.changes[0].kind == "modified");
    CHECK_FALSE(fs::exists(g.root() + "/boot/grub2/grub.cfg"));
  }

  TEST_CASE("RHEL 9 on UEFI: grub2-mkconfig writes /boot/grub2/grub.cfg, the ESP's stub stays")
  {
    for (bool menu_missing : {false, true}) {
      CAPTURE(menu_missing);
      FixtureGuest g("rhel-9.4-uefi", menu_missing
                                          ? std::vector<std::string>{"/boot/grub2/grub.cfg"}
                                          : std::vector<std::string>{});
      const std::string stub = g.read("/boot/efi/EFI/redhat/grub.cfg");
      // Inspection names the file the stub loads, even when it is missing.
      CHECK(g.inspection->bootloader_config == "/boot/grub2/grub.cfg");
      CHECK(g.inspection->bootloader_bls);
      const auto& w = g.inspection->warnings;
      CHECK((std::find(w.begin(), w.end(),
                       "/boot/efi/EFI/redhat/grub.cfg loads /boot/grub2/grub.cfg, which is "
                       "missing: the guest has no boot menu")
             != w.end())
            == menu_missing);
      ActionRecord record = run_mkconfig(g, "rhel-family", "/boot/grub2/grub.cfg");
      REQUIRE(record.changes.size() == 1);
      CHECK(record.changes[0].path == "/boot/grub2/grub.cfg");
      CHECK(record.changes[0].kind == (menu_missing ? "created" : "modified"));
      CHECK(g.read("/boot/efi/EFI/redhat/grub.cfg") == stub);
    }
  }

  TEST_CASE("SLES 15 on UEFI and RHEL 7 on BIOS: grub2-mkconfig writes /boot/grub2/grub.cfg")
  {
    for (auto [fixture, rule] :
         {std::pair{"sles-15.5", "suse-family"}, std::pair{"rhel-7.9", "rhel-family"}}) {
      CAPTURE(fixture);
      FixtureGuest g(fixture);
      run_mkconfig(g, rule, "/boot/grub2/grub.cfg");
    }
  }

  TEST_CASE("${bootloader.config} without a bootloader configuration stops the action")
  {
    FixtureGuest g("rhel-9.4-uefi");
    g.inspection->bootloader_config.clear();
    ActionRecord record;
    auto r = g.run(mkconfig_action("rhel-family"), record);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("${bootloader.config}") != std::string::npos);
    CHECK(r.error().message.find("no bootloader configuration") != std::string::npos);
    CHECK(g.commands.empty());
  }

  TEST_CASE("${bootloader.config} is a variable of run only")
  {
    auto ok = parse_rule("id: r\ndescription: d\nactions:\n  - type: run\n"
                         "    command: [grub2-mkconfig, -o, \"${bootloader.config}\"]\n"
                         "    changes: [\"${bootloader.config}\"]\n",
                         "r.yaml");
    CHECK_MESSAGE(ok, (ok ? "" : ok.error().message));
    auto bad = parse_rule("id: r\ndescription: d\nactions:\n  - type: delete_files\n"
                          "    paths: [\"${bootloader.config}\"]\n",
                          "r.yaml");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("unknown variable '${bootloader.config}'") != std::string::npos);
  }
}
