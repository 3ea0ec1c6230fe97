#include "converter/windows_convert.hpp"
#include "converter/windows_guest.hpp"

#include <cstdlib>
#include <filesystem>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "converter/actions.hpp"
#include "converter/dir_guest.hpp"
#include "converter/rules.hpp"
#include "drivers/registry.hpp"
#include "tests/converter/windows_fixture.hpp"

using namespace rehost;
using drivers::Hive;
using drivers::HiveMode;
using test::TempDir;

namespace {

const std::string k_drivers = std::string(REHOST_TEST_DATA_DIR) + "/windows-drivers/";

WindowsTarget nitro()
{
  WindowsTarget t;
  t.name = "aws-nitro";
  t.storage_ids = {"PCI\\VEN_1D0F&DEV_8061", "PCI\\VEN_1D0F&DEV_0061"};
  t.utc = true;
  return t;
}

WindowsTarget kvm()
{
  WindowsTarget t;
  t.name = "kvm";
  t.storage_ids = {"PCI\\VEN_1AF4&DEV_1001", "PCI\\VEN_1AF4&DEV_1042"};
  return t;
}

Inspection inspect(const std::string& root)
{
  auto guest = DirGuest::open(root);
  REQUIRE(guest);
  auto in = inspect_guest(**guest, {});
  REQUIRE(in);
  REQUIRE(in->windows);
  return *in;
}

struct Converted {
  Inspection inspection;
  WindowsChanges changes;
};

Converted convert(const std::string& root, const WindowsTarget& target, const std::string& dir)
{
  auto guest = DirGuest::open(root);
  REQUIRE(guest);
  Inspection in = inspect(root);
  auto changes = convert_windows(**guest, in, target, dir);
  REQUIRE_MESSAGE(changes, (changes ? "" : changes.error().message));
  return {in, *changes};
}

uint32_t dword(const Hive& hive, const std::string& key, const std::string& name)
{
  auto v = hive.get(key, name);
  REQUIRE(v);
  REQUIRE_MESSAGE(*v, (key + "\\" + name));
  return (*v)->as_dword().value_or(0xdeadbeef);
}

std::string str(const Hive& hive, const std::string& key, const std::string& name)
{
  auto v = hive.get(key, name);
  REQUIRE(v);
  REQUIRE_MESSAGE(*v, (key + "\\" + name));
  return (*v)->as_string().value_or("(not a string)");
}

// $REHOST_DRIVERS_DIR for the life of the object.
struct DriversDirEnv {
  explicit DriversDirEnv(const std::string& dir) { setenv("REHOST_DRIVERS_DIR", dir.c_str(), 1); }
  ~DriversDirEnv() { unsetenv("REHOST_DRIVERS_DIR"); }
  DriversDirEnv(const DriversDirEnv&) = delete;
  DriversDirEnv& operator=(const DriversDirEnv&) = delete;
};

Hive open_hive(const std::string& root, const std::string& name)
{
  auto hive = Hive::open(root + "/WINDOWS/system32/CONFIG/" + name, HiveMode::read_only);
  REQUIRE(hive);
  return std::move(*hive);
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("find_path_nocase matches each component whatever its case")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2022"));
    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    CHECK(find_path_nocase(**guest, "/Windows/System32/config/SYSTEM")
          == "/WINDOWS/system32/CONFIG/SYSTEM");
    CHECK(find_path_nocase(**guest, "/windows/system32/config/SOFTWARE")
          == "/WINDOWS/system32/CONFIG/software");
    CHECK(!find_path_nocase(**guest, "/Windows/System32/config/SAM"));
    CHECK(resolve_path_nocase(**guest, "/windows/system32/Drivers/rehost/x.sys")
          == "/WINDOWS/system32/Drivers/rehost/x.sys");
  }

  TEST_CASE("Windows inspection reads the SYSTEM and SOFTWARE hives")
  {
    for (const auto& release : test::windows_releases()) {
      CAPTURE(release.name);
      TempDir dir;
      Inspection in = inspect(test::make_windows_tree(dir, release));
      const WindowsInfo& w = *in.windows;
      CHECK(in.os.type == "windows");
      CHECK(in.os.family == "windows");
      CHECK(in.os.arch == "x86_64");
      CHECK(w.major == release.major);
      CHECK(w.minor == release.minor);
      CHECK(w.build == release.build);
      CHECK(w.edition == (release.installation_type == "Client" ? "client" : "server"));
      CHECK(w.control_set == "ControlSet002");
      CHECK(w.system_root == "/WINDOWS");
      CHECK(w.system_root_win == "C:\\WINDOWS");
      CHECK(w.driver_database == (release.major >= 10 || release.minor >= 2));
      CHECK(w.services.at("VMTools") == 2);
      CHECK(w.platforms.at("pvscsi") == "vmware");
      CHECK(in.hypervisor_tools == std::vector<std::string>{"vmware-tools"});
      auto json = to_json(in);
      CHECK(json["os"]["family"] == "windows");
      CHECK(json["windows"]["control_set"] == "ControlSet002");
      CHECK(to_text(in).find(w.product_name) != std::string::npos);
    }
    TempDir dir;
    CHECK(inspect(test::make_windows_tree(dir, test::windows_release("11"))).os.name
          == "Windows 11 Pro");
    CHECK(inspect(test::make_windows_tree(dir, test::windows_release("10"), "ten")).os.name
          == "Windows 10 Pro");
  }

  TEST_CASE("a hive caught mid-write is read, with a warning")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2016"));
    test::make_hive_unclean(root + "/WINDOWS/system32/CONFIG/SYSTEM");
    Inspection in = inspect(root);
    REQUIRE(in.warnings.size() == 1);
    CHECK(in.warnings[0].find("SYSTEM: the hive was not cleanly written") != std::string::npos);
    CHECK(in.warnings[0].find("has no transaction log: read as it is") != std::string::npos);
    CHECK(in.windows->control_set == "ControlSet002");
    CHECK(in.windows->unclean_hives.empty());
    // With no log there is nothing to lose: the conversion goes on.
    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    CHECK(convert_windows(**guest, in, nitro(), k_drivers + "aws-nitro"));
  }

  TEST_CASE("a hive whose logs hold changes it lacks is refused, or edited with its logs removed")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2019"));
    const std::string config = root + "/WINDOWS/system32/CONFIG/";
    test::make_hive_unclean(config + "SYSTEM");
    dir.write("root/WINDOWS/system32/CONFIG/SYSTEM.LOG1", std::string(1024, 'L'));
    dir.write("root/WINDOWS/system32/CONFIG/system.log2", ""); // empty: holds nothing
    dir.write("root/WINDOWS/system32/CONFIG/software.LOG1", std::string(512, 'L'));
    const std::string problem = "/WINDOWS/system32/CONFIG/SYSTEM: the hive was not cleanly "
                                "written (sequence numbers 3 and 2) and SYSTEM.LOG1 holds "
                                "changes it lacks";
    Inspection in = inspect(root);
    // SOFTWARE is clean: its log is what Windows keeps next to every hive.
    REQUIRE(in.windows->unclean_hives == std::vector<std::string>{problem});
    REQUIRE(in.warnings.size() == 1);
    CHECK(in.warnings[0] == problem + "; read without them, and a conversion refuses to edit it");

    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    auto refused = convert_windows(**guest, in, nitro(), k_drivers + "aws-nitro");
    REQUIRE(!refused);
    CHECK(refused.error().message
          == problem
                 + "; start the source machine and shut it down cleanly, then convert a newer "
                   "replica, or pass --discard-hive-logs to convert without those changes");
    CHECK(!std::filesystem::exists(root + "/WINDOWS/system32/Drivers/AWSNVMe.sys"));
    CHECK(!std::filesystem::exists(root + "/Program Files/rehost"));
    CHECK(drivers::read_hive_header(test::read_file(config + "SYSTEM")).state
          == drivers::HiveHeaderState::unclean);

    auto discarded =
        convert_windows(**guest, in, nitro(), k_drivers + "aws-nitro", drivers::HiveLogs::discard);
    REQUIRE_MESSAGE(discarded, (discarded ? "" : discarded.error().message));
    Hive system = open_hive(root, "SYSTEM");
    CHECK(dword(system, "ControlSet002\\Services\\AWSNVMe", "Start") == 0);
    // The edited hive is clean and no log is left for Windows to replay over it; the clean
    // SOFTWARE hive keeps its log.
    CHECK(drivers::read_hive_header(test::read_file(config + "SYSTEM")).state
          == drivers::HiveHeaderState::clean);
    CHECK(!std::filesystem::exists(config + "SYSTEM.LOG1"));
    CHECK(std::filesystem::exists(config + "software.LOG1"));
    CHECK(inspect(root).warnings.empty());
  }

  TEST_CASE("a hive whose base block is damaged, with logs next to it, is refused")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2016"));
    std::string path = root + "/WINDOWS/system32/CONFIG/software";
    std::string bytes = test::read_file(path);
    bytes[0x30] = static_cast<char>(bytes[0x30] ^ 0x55); // inside the checksummed words
    dir.write("root/WINDOWS/system32/CONFIG/software", bytes);
    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    CHECK(unclean_hive(**guest, "/WINDOWS/system32/CONFIG/software").empty()); // no log yet
    dir.write("root/WINDOWS/system32/CONFIG/SOFTWARE.LOG2", std::string(512, 'L'));
    dir.write("root/WINDOWS/system32/CONFIG/SOFTWARE.LOG1", std::string(512, 'L'));
    CHECK(unclean_hive(**guest, "/WINDOWS/system32/CONFIG/software")
          == "/WINDOWS/system32/CONFIG/software: the hive has a damaged base block (checksum "
             "mismatch) and SOFTWARE.LOG1, SOFTWARE.LOG2 hold changes it lacks");
    auto opened = GuestHive::open(**guest, "/WINDOWS/system32/CONFIG/software", HiveMode::write);
    REQUIRE(!opened);
    CHECK(opened.error().message.find("--discard-hive-logs") != std::string::npos);
  }

  TEST_CASE("a corrupt SYSTEM hive is a warning in inspection and an error in conversion")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2019"));
    dir.write("root/WINDOWS/system32/CONFIG/SYSTEM", std::string(8192, 'x'));
    Inspection in = inspect(root);
    REQUIRE(!in.warnings.empty());
    CHECK(in.warnings.front().find("corrupt registry hive") != std::string::npos);
    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    auto r = convert_windows(**guest, in, nitro(), k_drivers + "aws-nitro");
    REQUIRE(!r);
    CHECK(r.error().message
          == "/WINDOWS/system32/CONFIG/SYSTEM: corrupt registry hive (hivex "
             "cannot open it)");
    // Nothing was written.
    CHECK(!std::filesystem::exists(root + "/WINDOWS/system32/Drivers/AWSNVMe.sys"));
    CHECK(!std::filesystem::exists(root + "/Program Files/rehost"));
  }

  TEST_CASE("conversion for AWS Nitro on every release: services, device database, files")
  {
    for (const auto& release : test::windows_releases()) {
      CAPTURE(release.name);
      TempDir dir;
      std::string root = test::make_windows_tree(dir, release);
      auto [in, changes] = convert(root, nitro(), k_drivers + "aws-nitro");
      Hive system = open_hive(root, "SYSTEM");
      Hive software = open_hive(root, "software");
      const std::string cs = "ControlSet002";

      // The storage service starts at boot; the network one as its INF says.
      const std::string nvme = cs + "\\Services\\AWSNVMe";
      CHECK(dword(system, nvme, "Type") == 1);
      CHECK(dword(system, nvme, "Start") == 0);
      CHECK(dword(system, nvme, "ErrorControl") == 1);
      CHECK(str(system, nvme, "Group") == "SCSI Miniport");
      CHECK(str(system, nvme, "ImagePath") == "System32\\drivers\\AWSNVMe.sys");
      CHECK((*system.get(nvme, "ImagePath"))->type == drivers::RegType::expand_sz);
      // The ENA package has models for Windows 6.3 and later only.
      bool ena = release.major >= 10 || release.minor >= 3;
      CHECK(system.has_key(cs + "\\Services\\ena") == ena);
      if (ena) {
        CHECK(dword(system, cs + "\\Services\\ena", "Start") == 3);
        CHECK(str(system, cs + "\\Services\\ena", "Group") == "NDIS");
      }
      CHECK(!system.has_key("ControlSet001\\Services\\AWSNVMe"));

      bool ddb = release.major >= 10 || release.minor >= 2;
      const std::string cdd = cs + "\\Control\\CriticalDeviceDatabase\\pci#ven_1d0f&dev_8061";
      if (ddb) {
        CHECK(!system.has_key(cdd));
        auto id = system.get("DriverDatabase\\DeviceIds\\PCI\\VEN_1D0F&DEV_8061", "awsnvme.inf");
        REQUIRE(id);
        REQUIRE(*id);
        CHECK((*id)->data == std::string("\x01\xff\x00\x00", 4));
        CHECK(str(system, "DriverDatabase\\DriverPackages\\awsnvme.inf_amd64_rehost", "InfName")
              == "awsnvme.inf");
        CHECK(str(system,
                  "DriverDatabase\\DriverPackages\\awsnvme.inf_amd64_rehost\\Configurations\\"
                  "awsnvme_device.nt",
                  "Service")
              == "AWSNVMe");
        CHECK(system.has_key("DriverDatabase\\DriverInfFiles\\machine.inf"));
      } else {
        CHECK(str(system, cdd, "Service") == "AWSNVMe");
        CHECK(str(system, cdd, "ClassGUID") == "{4d36e97b-e325-11ce-bfc1-08002be10318}");
        CHECK(!system.has_key("DriverDatabase"));
      }

      // The old hypervisor's services are disabled, in the current control set only.
      for (const char* vmware : {"VMTools", "vmci", "pvscsi"}) {
        CHECK(dword(system, cs + "\\Services\\" + vmware, "Start") == 4);
      }
      CHECK(dword(system, "ControlSet001\\Services\\VMTools", "Start") == 2);
      CHECK(dword(system, cs + "\\Services\\Tcpip", "Start") == 1);
      CHECK(dword(system, cs + "\\Control\\TimeZoneInformation", "RealTimeIsUniversal") == 1);

      CHECK(str(software, "Microsoft\\Windows\\CurrentVersion", "DevicePath")
            == "%SystemRoot%\\inf;%SystemRoot%\\Drivers\\rehost");
      // First boot runs at boot, before any logon: a service, not a RunOnce entry.
      CHECK(!software.has_key("Microsoft\\Windows\\CurrentVersion\\RunOnce"));
      const std::string fb = cs + "\\Services\\rehost-firstboot";
      CHECK(dword(system, fb, "Type") == 0x10);
      CHECK(dword(system, fb, "Start") == 2);
      CHECK(dword(system, fb, "ErrorControl") == 0);
      CHECK(str(system, fb, "ObjectName") == "LocalSystem");
      CHECK((*system.get(fb, "ImagePath"))->type == drivers::RegType::expand_sz);
      CHECK(str(system, fb, "ImagePath")
            == "%SystemRoot%\\System32\\cmd.exe /c start \"rehost-firstboot\" "
               "%SystemRoot%\\System32\\cmd.exe /c \"C:\\Program "
               "Files\\rehost\\firstboot\\firstboot.cmd\"");
      CHECK(!system.has_key("ControlSet001\\Services\\rehost-firstboot"));

      // Files: the driver next to Windows' own, the packages where DevicePath points.
      CHECK(test::read_file(root + "/WINDOWS/system32/Drivers/AWSNVMe.sys")
            == "placeholder driver binary for tests: AWSNVMe.sys\n");
      CHECK(std::filesystem::exists(root + "/WINDOWS/system32/Drivers/ena.sys") == ena);
      for (const char* f : {"AWSNVMe/AWSNVMe.inf", "AWSNVMe/AWSNVMe.cat", "AWSNVMe/AWSNVMe.sys"}) {
        CHECK_MESSAGE(std::filesystem::exists(root + "/WINDOWS/Drivers/rehost/" + f), f);
      }
      CHECK(std::filesystem::exists(root + "/WINDOWS/Drivers/rehost/ena/ena.inf") == ena);

      // First boot: in order, the runner logs and runs each once.
      CHECK(changes.firstboot
            == std::vector<std::string>{
                "/Program Files/rehost/firstboot/scripts/10-pnputil.cmd",
                "/Program Files/rehost/firstboot/scripts/20-san-policy.cmd",
                "/Program Files/rehost/firstboot/scripts/30-uninstall-vmware-tools.cmd"});
      std::string pnputil =
          test::read_file(root + "/Program Files/rehost/firstboot/scripts/10-pnputil.cmd");
      CHECK(pnputil.find(release.major >= 10 ? "pnputil /add-driver" : "pnputil -i -a")
            != std::string::npos);
      CHECK(pnputil.find("\r\n") != std::string::npos);
      CHECK(test::read_file(root + "/Program Files/rehost/firstboot/scripts/20-san-policy.cmd")
                .find("san policy=OnlineAll")
            != std::string::npos);
      std::string runner = test::read_file(root + "/Program Files/rehost/firstboot/firstboot.cmd");
      CHECK(runner.find("log.txt") != std::string::npos);
      CHECK(runner.find("dir /b /o:n") != std::string::npos);
      CHECK(runner.find("sc.exe delete rehost-firstboot") != std::string::npos);

      // The changes are readable.
      std::string text = drivers::format_changes("HKLM\\SYSTEM", changes.system);
      CHECK(text.find("HKLM\\SYSTEM\\ControlSet002\\Services\\VMTools\n~ Start: REG_DWORD "
                      "0x00000002 (2) -> REG_DWORD 0x00000004 (4)")
            != std::string::npos);
      CHECK(text.find("HKLM\\SYSTEM\\ControlSet002\\Services\\AWSNVMe (new key)")
            != std::string::npos);
    }
  }

  TEST_CASE("conversion for KVM: viostor and netkvm from 2012 R2 on, none for Windows 7")
  {
    for (const char* name : {"2012r2", "2016", "2019", "2022", "10", "11"}) {
      CAPTURE(name);
      TempDir dir;
      std::string root = test::make_windows_tree(dir, test::windows_release(name));
      convert(root, kvm(), k_drivers + "kvm");
      Hive system = open_hive(root, "SYSTEM");
      CHECK(dword(system, "ControlSet002\\Services\\viostor", "Start") == 0);
      CHECK(dword(system, "ControlSet002\\Services\\netkvm", "Start") == 3);
      CHECK(system.has_key(
          "DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00"));
      auto utc = system.get("ControlSet002\\Control\\TimeZoneInformation", "RealTimeIsUniversal");
      REQUIRE(utc);
      CHECK(!utc->has_value());
    }
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("7"));
    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    auto r = convert_windows(**guest, inspect(root), kvm(), k_drivers + "kvm");
    REQUIRE(!r);
    CHECK(r.error().message
          == k_drivers
                 + "kvm has no driver for the kvm boot disk controller "
                   "(PCI\\VEN_1AF4&DEV_1001, PCI\\VEN_1AF4&DEV_1042) on Windows 6.1 build "
                   "7601 amd64");
    CHECK(!std::filesystem::exists(root + "/Program Files/rehost"));
  }

  TEST_CASE("Windows' own NVMe driver serves when no package does")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2016"));
    WindowsTarget target = nitro();
    target.inbox_storage = {"stornvme"};
    auto [in, changes] = convert(root, target, "");
    Hive system = open_hive(root, "SYSTEM");
    CHECK(dword(system, "ControlSet002\\Services\\stornvme", "Start") == 0);
    CHECK(changes.firstboot.size() == 2); // no packages: no pnputil
    REQUIRE(changes.notes.size() == 1);

    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    auto none = convert_windows(**guest, inspect(root), nitro(), "");
    REQUIRE(!none);
    CHECK(none.error().message.find("pass --drivers DIR") != std::string::npos);
  }

  TEST_CASE("a package whose INF lacks a section or a file is refused before any change")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2022"));
    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    Inspection in = inspect(root);
    dir.write("pkg/bad/bad.inf",
              "[Version]\nClass=SCSIAdapter\n[Manufacturer]\nX=Models,NTamd64\n");
    auto r = convert_windows(**guest, in, nitro(), dir.str() + "/pkg");
    REQUIRE(!r);
    CHECK(r.error().message
          == dir.str()
                 + "/pkg/bad/bad.inf:4: [Manufacturer] names models section [Models.NTamd64], "
                   "which is missing");

    std::filesystem::create_directories(dir.str() + "/nofile");
    std::filesystem::copy(k_drivers + "aws-nitro/awsnvme", dir.str() + "/nofile/awsnvme");
    std::filesystem::remove(dir.str() + "/nofile/awsnvme/AWSNVMe.sys");
    auto missing = convert_windows(**guest, in, nitro(), dir.str() + "/nofile");
    REQUIRE(!missing);
    CHECK(missing.error().message.find("copies AWSNVMe.sys, which is not in the package")
          != std::string::npos);
    CHECK(!std::filesystem::exists(root + "/Program Files/rehost"));
    Hive system = open_hive(root, "SYSTEM");
    CHECK(dword(system, "ControlSet002\\Services\\VMTools", "Start") == 2);
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("the windows rule matches a Windows guest and its action records registry diffs")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2019"));
    auto rules = load_rules({builtin_rules_dir()});
    REQUIRE_MESSAGE(rules, (rules ? "" : rules.error().message));
    const TargetProfile* target = rules->target("aws-nitro");
    REQUIRE(target);
    CHECK(target->windows.utc);
    CHECK(target->windows.inbox_storage == std::vector<std::string>{"stornvme"});
    Inspection in = inspect(root);
    const Rule* windows = nullptr;
    for (const auto& rule : rules->rules) {
      if (rule_matches(rule, in, "aws-nitro")) {
        CHECK(windows == nullptr);
        windows = &rule;
      }
    }
    REQUIRE(windows);
    CHECK(windows->id == "windows");

    auto guest = DirGuest::open(root);
    REQUIRE(guest);
    ActionContext context{**guest, in, *target, std::chrono::seconds(60), k_drivers + "aws-nitro"};
    ActionRecord record;
    REQUIRE(windows->actions.size() == 1);
    auto r = run_action(context, windows->actions.front(), record);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    REQUIRE(record.changes.size() > 2);
    CHECK(record.changes[0].path == "/WINDOWS/system32/CONFIG/SYSTEM");
    CHECK(record.changes[0].diff.find("+ Start = REG_DWORD 0x00000000 (0)") != std::string::npos);
    CHECK(record.changes[1].path == "/WINDOWS/system32/CONFIG/software");
    CHECK(record.changes[1].diff.find("~ DevicePath: REG_EXPAND_SZ \"%SystemRoot%\\inf\" -> "
                                      "REG_EXPAND_SZ \"%SystemRoot%\\inf;%SystemRoot%\\Drivers\\"
                                      "rehost\"")
          != std::string::npos);
    // A stop error reboots; the profile's serial console (COM1) gets EMS at first boot.
    CHECK(record.changes[0].diff.find("+ AutoReboot = REG_DWORD 0x00000001 (1)")
          != std::string::npos);
    CHECK(test::read_file(root + "/Program Files/rehost/firstboot/scripts/25-serial-console.cmd")
              .find("bcdedit /emssettings EMSPORT:1 EMSBAUDRATE:115200\r\n")
          != std::string::npos);

    // Validation reads the result back: AWSNVMe is tied to the controller and starts at boot.
    Inspection after = inspect(root);
    auto checks = validate_windows(**guest, after, target->windows);
    REQUIRE(checks.size() == 1);
    CHECK_MESSAGE(checks[0].passed, checks[0].detail);
    CHECK(checks[0].detail == "AWSNVMe starts at boot and drives the aws-nitro disk controller");

    // The unconverted guest does not pass: stornvme is there but starts on demand.
    TempDir other;
    std::string fresh = test::make_windows_tree(other, test::windows_release("2019"));
    auto fresh_guest = DirGuest::open(fresh);
    REQUIRE(fresh_guest);
    auto before = validate_windows(**fresh_guest, inspect(fresh), target->windows);
    CHECK(!before[0].passed);
    CHECK(before[0].detail == "service stornvme does not start at boot");
  }

  TEST_CASE("the profile's drivers directory serves when --drivers is absent")
  {
    TempDir data;
    std::filesystem::copy(k_drivers + "aws-nitro", data.str() + "/aws-nitro",
                          std::filesystem::copy_options::recursive);
    WindowsTarget target = nitro();
    DriversDirEnv env(data.str());
    CHECK(drivers_data_dir() == data.str());

    // --drivers wins; no default means no packages.
    CHECK(windows_drivers_dir("/given", target).value_or("?") == "/given");
    CHECK(windows_drivers_dir("", target).value_or("?") == "");
    // A relative default is under the drivers data directory, an absolute one is itself.
    target.drivers = "aws-nitro";
    CHECK(windows_drivers_dir("", target).value_or("?") == data.str() + "/aws-nitro");
    target.drivers = k_drivers + "kvm";
    CHECK(windows_drivers_dir("", target).value_or("?") == k_drivers + "kvm");
    // A default that is not there names itself and both ways to supply drivers.
    target.drivers = "missing";
    auto missing = windows_drivers_dir("", target);
    REQUIRE(!missing);
    CHECK(missing.error().message
          == fmt::format("no driver packages for the aws-nitro target: {0}/missing (its "
                         "profile's windows.drivers) is not a directory; pass --drivers DIR, or "
                         "install the packages there ($REHOST_DRIVERS_DIR replaces {0})",
                         data.str()));

    // The built-in Nitro profile names its directory; the windows action converts with it.
    auto rules = load_rules({builtin_rules_dir()});
    REQUIRE(rules);
    const TargetProfile* profile = rules->target("aws-nitro");
    REQUIRE(profile);
    CHECK(profile->windows.drivers == "aws-nitro");
    const Rule* windows = nullptr;
    for (const auto& rule : rules->rules) {
      windows = rule.id == "windows" ? &rule : windows;
    }
    REQUIRE(windows);
    // The windows action on a fresh tree of `release`, with the built-in profile.
    auto convert_tree = [&](const TempDir& dir, const std::string& release, ActionRecord& record) {
      std::string root = test::make_windows_tree(dir, test::windows_release(release));
      Inspection in = inspect(root);
      auto guest = DirGuest::open(root);
      REQUIRE(guest);
      ActionContext context{**guest, in, *profile, std::chrono::seconds(60), ""};
      return std::pair{root, run_action(context, windows->actions.front(), record)};
    };

    TempDir dir;
    ActionRecord record;
    auto [root, r] = convert_tree(dir, "2012r2", record);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    CHECK(std::filesystem::exists(root + "/WINDOWS/system32/Drivers/AWSNVMe.sys"));
    CHECK(dword(open_hive(root, "SYSTEM"), "ControlSet002\\Services\\AWSNVMe", "Start") == 0);

    // Without the directory, the action stops before changing anything on a release whose own
    // drivers cannot run the disk (no stornvme before Server 2012 R2).
    DriversDirEnv nowhere(data.str() + "/nowhere");
    TempDir other;
    ActionRecord none;
    auto [fresh, refused] = convert_tree(other, "2008r2", none);
    REQUIRE(!refused);
    CHECK(refused.error().message.find("pass --drivers DIR") != std::string::npos);
    CHECK(!std::filesystem::exists(fresh + "/Program Files/rehost"));

    // Releases with stornvme drive the NVMe disk themselves: without the directory the
    // conversion goes on with it, and warns that the other drivers are not installed.
    TempDir newer;
    ActionRecord with_inbox;
    auto [server2016, converted] = convert_tree(newer, "2016", with_inbox);
    REQUIRE_MESSAGE(converted, (converted ? "" : converted.error().message));
    REQUIRE(with_inbox.warnings.size() == 1);
    CHECK(with_inbox.warnings[0].find("the boot disk uses Windows' own stornvme driver")
          != std::string::npos);
    CHECK(dword(open_hive(server2016, "SYSTEM"), "ControlSet002\\Services\\stornvme", "Start")
          == 0);
  }

  TEST_CASE("rehost inspect prints and reports a Windows directory")
  {
    TempDir dir;
    std::string root = test::make_windows_tree(dir, test::windows_release("2022"));
    auto text = test::run_rehost({"inspect", root}, 60);
    CHECK(text.exit_code == 0);
    CHECK(text.out.find("Windows Server 2022 Datacenter (server 10.0 build 20348")
          != std::string::npos);
    auto json = test::run_rehost({"inspect", "--json", root}, 60);
    REQUIRE(json.exit_code == 0);
    auto j = nlohmann::json::parse(json.out);
    CHECK(j["os"]["family"] == "windows");
    CHECK(j["windows"]["build"] == 20348);
    CHECK(j["windows"]["services"]["VMTools"]["platform"] == "vmware");
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("conversion for AWS Xen: the PV storage driver is tied to its Xen bus ids")
  {
    WindowsTarget xen;
    xen.name = "aws-xen";
    xen.storage_ids = {"XENBUS\\VEN_XS0001&DEV_VBD"};
    for (const char* name : {"2008r2", "2022"}) {
      CAPTURE(name);
      TempDir dir;
      std::string root = test::make_windows_tree(dir, test::windows_release(name));
      convert(root, xen, k_drivers + "aws-xen");
      Hive system = open_hive(root, "SYSTEM");
      CHECK(dword(system, "ControlSet002\\Services\\xenvbd", "Start") == 0);
      CHECK(str(system, "ControlSet002\\Services\\xenvbd", "ImagePath")
            == "System32\\drivers\\xenvbd.sys");
      CHECK(std::filesystem::exists(root + "/WINDOWS/system32/Drivers/xencrsh.sys"));
      if (std::string(name) == "2022") {
        CHECK(system.has_key("DriverDatabase\\DeviceIds\\XENBUS\\VEN_XS0001&DEV_VBD&REV_08000009"));
      } else {
        CHECK(str(system,
                  "ControlSet002\\Control\\CriticalDeviceDatabase\\xenbus#ven_xs0001&dev_vbd&rev_"
                  "08000009",
                  "Service")
              == "xenvbd");
      }
      auto checks = validate_windows(**DirGuest::open(root), inspect(root), xen);
      CHECK_MESSAGE(checks.at(0).passed, checks.at(0).detail);
    }
  }
}
