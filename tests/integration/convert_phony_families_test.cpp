// Conversions of runnable phony RHEL, SUSE and Arch guests through the native backend: the
// driver list each initramfs tool reads is made persistent, the guest's own (stub) tool runs in
// the sandbox once per kernel, and the image it writes is read back.
#include <filesystem>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "converter/native_disk.hpp"
#include "tests/integration/phony.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

struct Converted {
  int exit_code = -1;
  std::string err;
  nlohmann::json report;
  std::string partition; // the output's root file system, as a host file
};

// Converts the phony guest natively for `target`, which must succeed, and extracts the output's
// root file system for debugfs.
Converted convert(const TempDir& dir, PhonyLinux which, const std::string& target)
{
  std::string tree = write_runnable_linux(dir, "root", which);
  std::string source = make_ext4_disk(dir, "phony.img", tree, 96);
  std::string output = dir.str() + "/out.qcow2";
  std::string report = dir.str() + "/report.json";
  auto r = run_rehost({"--backend", "native", "convert", source, "--target", target, "-o", output,
                       "--report", report});
  REQUIRE_MESSAGE(r.exit_code == 0, "stderr:\n" << r.err);
  Converted c{r.exit_code, r.err, nlohmann::json::parse(read_file(report)), ""};
  std::string raw = dir.str() + "/out.raw";
  must_run({"qemu-img", "convert", "-O", "raw", output, raw});
  c.partition = dir.str() + "/out.part";
  must_run({"dd", "if=" + raw, "of=" + c.partition, "bs=1M", "skip=1", "status=none"});
  return c;
}

std::string guest_file(const Converted& c, const std::string& path)
{
  return must_run({"debugfs", "-R", "cat " + path, c.partition});
}

std::vector<std::string> lines(const std::string& text)
{
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// The rebuild_initramfs record: per kernel, the target drivers its new image holds.
std::map<std::string, nlohmann::json> rebuilt_images(const nlohmann::json& report)
{
  std::map<std::string, nlohmann::json> out;
  for (const auto& a : report["actions"]) {
    if (a["type"] == "rebuild_initramfs") {
      for (const auto& image : a["details"]["initramfs"]) {
        out[image["kernel"]] = image;
      }
    }
  }
  return out;
}

bool ready()
{
  std::string why;
  if (!rehost::NativeDisk::available(&why)) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") {
      FAIL("CI: the native backend is not available: " << why);
    }
    MESSAGE("skipped: the native backend is not available: " << why);
    return false;
  }
  return have_tool_or_skip("busybox") && have_tool_or_skip("debugfs");
}

struct Case {
  std::string target;
  std::vector<std::string> drivers; // the target's modules, as the guest's kernels have them
};

const Case k_nitro{"aws-nitro", {"nvme", "nvme_core", "ena"}};

void check_images(const Converted& c, const std::vector<std::string>& kernels,
                  const std::vector<std::string>& drivers,
                  const std::vector<std::string>& missing = {})
{
  auto images = rebuilt_images(c.report);
  CHECK(images.size() == kernels.size());
  for (const auto& k : kernels) {
    CAPTURE(k);
    REQUIRE(images.count(k));
    CHECK(images[k]["drivers"] == nlohmann::json(drivers));
    CHECK(images[k]["missing"]
          == (missing.empty() ? nlohmann::json::array() : nlohmann::json(missing)));
  }
  CHECK(c.report["validation"]["passed"] == true);
}

std::string words(const std::vector<std::string>& v)
{
  std::string s;
  for (const auto& w : v) {
    s += (s.empty() ? "" : " ") + w;
  }
  return s;
}

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("a Rocky 9 guest gets a dracut drop-in and one generic dracut run per kernel")
  {
    if (!ready()) {
      return;
    }
    const std::string k = "5.14.0-362.24.1.el9_3.x86_64";
    for (const Case& t :
         {k_nitro, Case{"kvm", {"virtio_blk", "virtio_scsi", "sd_mod", "virtio_net"}}}) {
      CAPTURE(t.target);
      TempDir dir;
      auto c = convert(dir, PhonyLinux::rocky9, t.target);
      CHECK(guest_file(c, "/etc/dracut.conf.d/90-rehost-target.conf")
                .find("\nadd_drivers+=\" " + words(t.drivers) + " \"\n")
            != std::string::npos);
      // The rescue kernel is not rebuilt: its image is generic already.
      CHECK(lines(guest_file(c, "/var/log/stub-calls"))
            == std::vector<std::string>{"dracut --force --no-hostonly /boot/initramfs-" + k
                                            + ".img " + k,
                                        "grub2-mkconfig -o /boot/grub2/grub.cfg"});
      CHECK(guest_file(c, "/boot/initramfs-0-rescue-4c3b2a1908f7e6d5c4b3a29180706f5e.img")
            == "(initramfs)\n");
      // The kdump service builds its own image.
      CHECK(guest_file(c, "/boot/initramfs-" + k + "kdump.img") == "(kdump initramfs)\n");
      check_images(c, {k}, t.drivers);
      CHECK(rebuilt_images(c.report)[k]["initramfs"] == "/boot/initramfs-" + k + ".img");
    }
  }

  TEST_CASE("a RHEL 7 guest on UEFI gets the ESP's grub.cfg regenerated: the one its firmware "
            "reads")
  {
    if (!ready()) {
      return;
    }
    const std::string k = "3.10.0-1160.105.1.el7.x86_64";
    TempDir dir;
    auto c = convert(dir, PhonyLinux::rhel7_uefi, "aws-nitro");
    auto calls = lines(guest_file(c, "/var/log/stub-calls"));
    CHECK(calls.back() == "grub2-mkconfig -o /boot/efi/EFI/redhat/grub.cfg");
    // The menu grub shows boots from the new disk, with the target's console.
    std::string menu = guest_file(c, "/boot/efi/EFI/redhat/grub.cfg");
    CHECK(menu.find("menuentry 'Linux " + k + "'") != std::string::npos);
    CHECK(menu.find("root=UUID=") != std::string::npos);
    CHECK(menu.find("console=ttyS0") != std::string::npos);
    CHECK(must_run({"debugfs", "-R", "ls -l /boot/grub2", c.partition}).find("grub.cfg")
          == std::string::npos);
    // The report and `plan` name the file that changed.
    bool recorded = false;
    for (const auto& a : c.report["actions"]) {
      for (const auto& change : a.value("changes", nlohmann::json::array())) {
        recorded = recorded || change["path"] == "/boot/efi/EFI/redhat/grub.cfg";
      }
    }
    CHECK(recorded);
    check_images(c, {k}, k_nitro.drivers);
    auto plan = run_rehost(
        {"--backend", "native", "plan", dir.str() + "/phony.img", "--target", "aws-nitro"});
    INFO("plan:\n" << plan.out << plan.err);
    REQUIRE(plan.exit_code == 0);
    CHECK(plan.out.find("grub2-mkconfig -o /boot/efi/EFI/redhat/grub.cfg") != std::string::npos);
    CHECK(plan.out.find("+++ b/boot/efi/EFI/redhat/grub.cfg") != std::string::npos);
    CHECK(plan.out.find("/boot/grub2/grub.cfg") == std::string::npos);
  }

  TEST_CASE("a RHEL 9 guest on UEFI keeps the ESP's stub and regenerates /boot/grub2/grub.cfg")
  {
    if (!ready()) {
      return;
    }
    const std::string k = "5.14.0-427.13.1.el9_4.x86_64";
    TempDir dir;
    auto c = convert(dir, PhonyLinux::rhel9_uefi, "aws-nitro");
    auto calls = lines(guest_file(c, "/var/log/stub-calls"));
    CHECK(calls.back() == "grub2-mkconfig -o /boot/grub2/grub.cfg");
    CHECK(guest_file(c, "/boot/efi/EFI/redhat/grub.cfg")
          == "search --no-floppy --fs-uuid --set=dev 8c2d4e6f-1a3b-4c5d-8e9f-0a1b2c3d4e5f\n"
             "set prefix=($dev)/grub2\n\nexport $prefix\nconfigfile $prefix/grub.cfg\n");
    CHECK(guest_file(c, "/boot/grub2/grub.cfg").find("\nblscfg\n") != std::string::npos);
    check_images(c, {k}, k_nitro.drivers);
    // aws-xen offers only BIOS: planning refuses this guest before anything is written.
    std::string source = dir.str() + "/phony.img";
    std::string before = sha256_of(source);
    std::string xen_output = dir.str() + "/xen.qcow2";
    auto xen = run_rehost(
        {"--backend", "native", "convert", source, "--target", "aws-xen", "-o", xen_output});
    INFO("aws-xen:\n" << xen.err);
    CHECK(xen.exit_code == 4);
    CHECK(single_error_line(xen.err).find("the guest boots only with uefi") != std::string::npos);
    CHECK(single_error_line(xen.err).find("aws-xen offers bios") != std::string::npos);
    CHECK_FALSE(fs::exists(xen_output));
    CHECK(sha256_of(source) == before);
  }

  TEST_CASE("a SLES 15 guest gets a dracut drop-in, and both its kernels are rebuilt")
  {
    if (!ready()) {
      return;
    }
    const std::vector<std::string> kernels = {"5.14.21-150500.55.52-default",
                                              "5.14.21-150500.55.49-default"};
    for (const Case& t :
         {k_nitro, Case{"kvm", {"virtio_blk", "virtio_scsi", "sd_mod", "virtio_net"}}}) {
      CAPTURE(t.target);
      TempDir dir;
      auto c = convert(dir, PhonyLinux::sles15, t.target);
      CHECK(guest_file(c, "/etc/dracut.conf.d/90-rehost-target.conf")
                .find("\nadd_drivers+=\" " + words(t.drivers) + " \"\n")
            != std::string::npos);
      // dracut does not read /etc/sysconfig/kernel on SLES 12 and later.
      CHECK(guest_file(c, "/etc/sysconfig/kernel").find("INITRD_MODULES") == std::string::npos);
      std::vector<std::string> expected;
      for (const auto& k : kernels) {
        expected.push_back("dracut --force --no-hostonly /boot/initrd-" + k + " " + k);
      }
      expected.push_back("grub2-mkconfig -o /boot/grub2/grub.cfg");
      CHECK(lines(guest_file(c, "/var/log/stub-calls")) == expected);
      check_images(c, kernels, t.drivers);
    }
  }

  TEST_CASE("a SLES 11 guest gets the target's drivers its kernel has in INITRD_MODULES and runs "
            "mkinitrd")
  {
    if (!ready()) {
      return;
    }
    const std::string k = "3.0.101-108.150-default";
    const std::string vmware =
        "vmw_pvscsi processor thermal ata_piix ata_generic piix ide_pci_generic fan jbd ext3 edd";
    // The 3.0 kernel has no ENA driver: mkinitrd stops on a name no kernel has, so ena stays out
    // of INITRD_MODULES, and the report says the image lacks it.
    for (const Case& t :
         {Case{"aws-nitro", {"nvme", "nvme_core"}},
          Case{"kvm", {"virtio_blk", "virtio_scsi", "virtio_pci", "sd_mod", "virtio_net"}}}) {
      CAPTURE(t.target);
      TempDir dir;
      auto c = convert(dir, PhonyLinux::sles11, t.target);
      CHECK(guest_file(c, "/etc/sysconfig/kernel")
                .find("\nINITRD_MODULES=\"" + vmware + " " + words(t.drivers) + "\"\n")
            != std::string::npos);
      CHECK(
          lines(guest_file(c, "/var/log/stub-calls"))
          == std::vector<std::string>{"mkinitrd -k /boot/vmlinuz-" + k + " -i /boot/initrd-" + k});
      CHECK(guest_file(c, "/etc/sysconfig/kernel").find("ena") == std::string::npos);
      // The disk boots on the target; validation says the guest will have no network there.
      CHECK(
          (c.report.dump().find("has no ena driver: no network on aws-nitro") != std::string::npos)
          == (t.target == "aws-nitro"));
      check_images(c, {k}, t.drivers,
                   t.target == "aws-nitro" ? std::vector<std::string>{"ena"}
                                           : std::vector<std::string>{});
    }
  }

  TEST_CASE("an Arch guest gets the target's drivers in MODULES=() and runs mkinitcpio")
  {
    if (!ready()) {
      return;
    }
    const std::string k = "6.8.1-arch1-1";
    for (const Case& t :
         {k_nitro,
          Case{"kvm", {"virtio_blk", "virtio_scsi", "virtio_pci", "sd_mod", "virtio_net"}}}) {
      CAPTURE(t.target);
      TempDir dir;
      auto c = convert(dir, PhonyLinux::arch, t.target);
      CHECK(guest_file(c, "/etc/mkinitcpio.conf").find("\nMODULES=(" + words(t.drivers) + ")\n")
            != std::string::npos);
      CHECK(lines(guest_file(c, "/var/log/stub-calls"))
            == std::vector<std::string>{"pacman -Rns --noconfirm open-vm-tools",
                                        "mkinitcpio -k " + k + " -g /boot/initramfs-linux.img",
                                        "grub-mkconfig -o /boot/grub/grub.cfg"});
      check_images(c, {k}, t.drivers);
    }
  }
}
