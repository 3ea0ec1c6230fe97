// The initramfs action types on a directory guest whose "tool" is a function of the test.
#include "converter/actions.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "drivers/initramfs_reader.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using drivers::DriverState;

namespace {

// An uncompressed newc cpio archive holding empty files at `paths`.
std::string make_cpio(const std::vector<std::string>& paths)
{
  std::vector<std::pair<std::string, std::string>> members;
  for (const auto& path : paths) {
    members.emplace_back(path, "");
  }
  return test::cpio_archive(members);
}

// A gzip newc cpio archive as dracut writes one: `members` maps each path to its content; a path
// ending in '/' is a directory, content starting with "->" makes a symbolic link.
std::string make_gzip_cpio(const std::vector<std::pair<std::string, std::string>>& members)
{
  return test::cpio_archive(members, "gzip");
}

KernelInfo kernel(const std::string& version, DriverState disk)
{
  KernelInfo k;
  k.version = version;
  k.image = "/boot/vmlinuz-" + version;
  k.initramfs = "/boot/initramfs-" + version + ".img";
  k.drivers = {{"virtio_blk", disk}, {"virtio_net", DriverState::module}};
  return k;
}

TargetProfile kvm_target()
{
  TargetProfile kvm;
  kvm.name = "kvm";
  kvm.storage_drivers = {"virtio_blk"};
  kvm.network_drivers = {"virtio_net"};
  return kvm;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("rebuild_initramfs skips kernels without a module tree and reads each new image")
  {
    test::TempDir dir;
    Inspection in;
    in.kernels = {kernel("5.14.0-2.el9", DriverState::missing),
                  kernel("5.14.0-1.el9", DriverState::module),
                  kernel("5.14.0-0.el9", DriverState::missing)};
    for (const auto& k : in.kernels) {
      dir.write("root" + k.initramfs, "old image\n");
    }
    dir.write("root/usr/lib/modules/5.14.0-2.el9/modules.dep", "");
    dir.write("root/lib/modules/5.14.0-1.el9/modules.dep", "");
    TargetProfile kvm = kvm_target();

    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    std::vector<std::string> calls;
    // The "tool" packs the drivers each kernel has.
    (*guest)->set_runner(
        [&](const std::vector<std::string>& argv, std::chrono::seconds) -> Result<CommandResult> {
          calls.push_back(argv[1] + " " + argv[2]);
          std::vector<std::string> files = {"init", "usr/lib/modules/" + argv[2]
                                                        + "/kernel/drivers/net/virtio_net.ko.xz"};
          if (argv[2] == "5.14.0-1.el9") {
            files.push_back("usr/lib/modules/" + argv[2]
                            + "/kernel/drivers/block/virtio_blk.ko.xz");
          }
          dir.write("root" + argv[1], make_cpio(files));
          return CommandResult{0, "", ""};
        },
        "test");
    ActionContext context{**guest, in, kvm};
    Action a;
    a.type = "rebuild_initramfs";
    a.params["command"].is_list = true;
    a.params["command"].list = {"mkimage", "${kernel.initramfs}", "${kernel.version}"};
    ActionRecord record;
    auto r = run_action(context, a, record);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));

    CHECK(calls
          == std::vector<std::string>{"/boot/initramfs-5.14.0-2.el9.img 5.14.0-2.el9",
                                      "/boot/initramfs-5.14.0-1.el9.img 5.14.0-1.el9"});
    CHECK(test::read_file(dir.str() + "/root/boot/initramfs-5.14.0-0.el9.img") == "old image\n");
    auto images = record.details["initramfs"];
    REQUIRE(images.size() == 2);
    CHECK(images[0]["kernel"] == "5.14.0-2.el9");
    CHECK(images[0]["drivers"] == nlohmann::json::array({"virtio_net"}));
    CHECK(images[0]["missing"] == nlohmann::json::array({"virtio_blk"}));
    CHECK(images[1]["kernel"] == "5.14.0-1.el9");
    CHECK(images[1]["drivers"] == nlohmann::json::array({"virtio_blk", "virtio_net"}));
    CHECK(images[1]["missing"] == nlohmann::json::array());
    std::string notes;
    for (const auto& n : record.notes) {
      notes += n + "\n";
    }
    CHECK(notes
          == "5.14.0-2.el9 cannot boot on the kvm target: the kernel has no virtio_blk driver\n"
             "5.14.0-0.el9 has no module tree: its initramfs "
             "(/boot/initramfs-5.14.0-0.el9.img) is left as it is\n");
  }

  TEST_CASE("rebuild_initramfs names a driver the kernel has but its new image lacks")
  {
    test::TempDir dir;
    Inspection in;
    in.kernels = {kernel("6.1.0-13-amd64", DriverState::module)};
    dir.write("root/boot/initramfs-6.1.0-13-amd64.img", "old\n");
    dir.write("root/lib/modules/6.1.0-13-amd64/modules.dep", "");
    TargetProfile kvm = kvm_target();
    auto guest = DirGuest::open(dir.str() + "/root");
    REQUIRE(guest);
    (*guest)->set_runner(
        [&](const std::vector<std::string>& argv, std::chrono::seconds) -> Result<CommandResult> {
          dir.write("root" + argv[1], make_cpio({"init"}));
          return CommandResult{0, "", ""};
        },
        "test");
    ActionContext context{**guest, in, kvm};
    Action a;
    a.type = "rebuild_initramfs";
    a.params["command"].is_list = true;
    a.params["command"].list = {"mkimage", "${kernel.initramfs}"};
    ActionRecord record;
    REQUIRE(run_action(context, a, record));
    CHECK(record.details["initramfs"][0]["missing"]
          == nlohmann::json::array({"virtio_blk", "virtio_net"}));
    REQUIRE(record.notes.size() == 3);
    CHECK(record.notes[0] == "the new initramfs of 6.1.0-13-amd64 lacks virtio_blk");
    CHECK(record.notes[2]
          == "6.1.0-13-amd64 cannot boot on the kvm target: its new initramfs lacks virtio_blk");
  }

  TEST_CASE("rebuild_initramfs with repack: dracut rewrites the image on the host, unless the "
            "image waits for a device of the old hardware")
  {
    if (!test::host_kernel_or_skip()) {
      return;
    }
    const std::string v = test::host_kernel();
    const std::string host_tree = "/lib/modules/" + v + "/";
    test::TempDir dir;
    // The guest's module tree: the kernel's indexes and the modules the kvm target needs.
    std::string dep = test::read_file(host_tree + "modules.dep");
    for (const char* name :
         {"modules.dep", "modules.order", "modules.builtin", "modules.builtin.modinfo"}) {
      dir.write("root" + host_tree + name, test::read_file(host_tree + name));
    }
    std::istringstream lines(dep);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.starts_with("kernel/drivers/block/virtio_blk.ko:")
          || line.starts_with("kernel/drivers/net/virtio_net.ko:")) {
        std::istringstream words(line);
        std::string path;
        while (words >> path) {
          if (path.ends_with(':')) {
            path.pop_back();
          }
          dir.write("root" + host_tree + path, test::read_file(host_tree + path));
        }
      }
    }
    const std::string mods = "usr/lib/modules/" + v;
    auto image = [&](const std::string& root_arg, const std::string& crypttab) {
      return make_gzip_cpio(
          {{"usr/", ""},
           {"usr/lib/", ""},
           {"lib", "->usr/lib"},
           {"usr/lib/modules/", ""},
           {mods + "/", ""},
           {mods + "/kernel/", ""},
           {mods + "/modules.order", ""},
           {"etc/", ""},
           {"etc/cmdline.d/", ""},
           {"etc/cmdline.d/95root-dev.conf", " " + root_arg + " rootfstype=ext4\n"},
           {"etc/crypttab", crypttab},
           {"init", "->usr/lib/systemd/systemd"}});
    };
    Inspection in;
    KernelInfo k = kernel(v, DriverState::module);
    k.initramfs = "/boot/initrd.img-" + v;
    in.kernels = {k};
    TargetProfile kvm = kvm_target();
    Action a;
    a.type = "rebuild_initramfs";
    a.params["command"].is_list = true;
    a.params["command"].list = {"dracut", "--force", "--no-hostonly", "${kernel.initramfs}",
                                "${kernel.version}"};
    a.params["repack"].scalar = "dracut";

    // The host-only files that name devices: root= in etc/cmdline.d, a data volume in crypttab.
    struct Case {
      std::string root_arg;
      std::string crypttab;
      std::string old_device; // "" when the image can be rewritten
      std::string in_file;
    };
    for (const Case& t :
         {Case{"root=UUID=1d604d06", "data UUID=77aa none luks\n", "", ""},
          Case{"root=/dev/sda1", "", "/dev/sda1", "etc/cmdline.d/95root-dev.conf"},
          Case{"root=UUID=1d604d06", "data /dev/sdb1 none luks\n", "/dev/sdb1", "etc/crypttab"}}) {
      const std::string& root_arg = t.root_arg;
      CAPTURE(root_arg);
      CAPTURE(t.crypttab);
      dir.write("root" + k.initramfs, image(root_arg, t.crypttab));
      auto guest = DirGuest::open(dir.str() + "/root");
      REQUIRE(guest);
      std::vector<std::string> calls;
      (*guest)->set_runner(
          [&](const std::vector<std::string>& argv, std::chrono::seconds) -> Result<CommandResult> {
            calls.push_back(argv[0] + " " + argv[3]);
            dir.write("root" + argv[3], make_cpio({mods + "/kernel/drivers/block/virtio_blk.ko",
                                                   mods + "/kernel/drivers/net/virtio_net.ko"}));
            return CommandResult{0, "", ""};
          },
          "test");
      ActionContext context{**guest, in, kvm};
      context.repack_initramfs = true;
      ActionRecord record;
      auto r = run_action(context, a, record);
      REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
      REQUIRE_FALSE(record.notes.empty());
      CHECK(record.details["initramfs"][0]["drivers"]
            == nlohmann::json::array({"virtio_blk", "virtio_net"}));
      if (t.old_device.empty()) {
        // Rewritten on the host, in gzip as it was; the guest's dracut never ran.
        CHECK(calls.empty());
        CHECK(record.notes[0].starts_with(v + ": rewritten on the host (gzip, added "));
        CHECK(record.summary == "rewrote the initramfs of " + v + " on the host");
        auto listing = drivers::list_initramfs_file(dir.str() + "/root" + k.initramfs);
        REQUIRE(listing);
        CHECK(listing->segments == std::vector<std::string>{"cpio+gzip"});
        CHECK(std::count(listing->files.begin(), listing->files.end(),
                         mods + "/kernel/drivers/block/virtio_blk.ko")
              == 1);
      } else {
        // A host-only file naming the VMware disk: the guest's dracut rebuilds the image.
        CHECK(calls == std::vector<std::string>{"dracut " + k.initramfs});
        CHECK(record.notes[0]
              == v + ": not rewritten on the host (" + k.initramfs + ": " + t.in_file + " names "
                     + t.old_device
                     + ", a device of the old hardware that the target does not have); the "
                       "guest's tool rebuilds it");
        CHECK(record.summary == "rebuilt the initramfs of " + v);
      }
    }
  }
}
