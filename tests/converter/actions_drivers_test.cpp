// The initramfs action types on a directory guest whose "tool" is a function of the test.
#include "converter/actions.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include <doctest/doctest.h>

#include "converter/dir_guest.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using drivers::DriverState;

namespace {

// An uncompressed newc cpio archive holding empty files at `paths`.
std::string make_cpio(const std::vector<std::string>& paths)
{
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            archive_write_free);
  archive_write_set_format_cpio_newc(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  std::string out(1 << 20, '\0');
  size_t used = 0;
  archive_write_open_memory(a.get(), out.data(), out.size(), &used);
  for (const auto& path : paths) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    archive_entry_free);
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), 0);
    archive_write_header(a.get(), e.get());
  }
  archive_write_close(a.get());
  out.resize(used);
  return out;
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
}
