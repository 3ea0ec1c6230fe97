#include "drivers/initramfs_repack.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include <doctest/doctest.h>

#include "drivers/initramfs_reader.hpp"
#include "tests/test_util.hpp"

using namespace rehost::drivers;

namespace {

struct Member {
  std::string path;
  std::string content; // a link's target for links
  bool dir = false;
  bool link = false;
};

// A newc cpio archive of `members`, compressed with `filter` ("" for none).
std::string make_archive(const std::vector<Member>& members, const std::string& filter)
{
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : members) {
    out.emplace_back(m.dir ? m.path + "/" : m.path, m.link ? "->" + m.content : m.content);
  }
  return rehost::test::cpio_archive(out, filter);
}

// Every member of the image's last segment, in order.
std::vector<Member> members_of(const std::string& image)
{
  auto listing = list_initramfs(image);
  REQUIRE(listing);
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_cpio(a.get());
  size_t at = listing->offsets.back();
  REQUIRE(archive_read_open_memory(a.get(), image.data() + at, image.size() - at) == ARCHIVE_OK);
  std::vector<Member> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    Member m;
    m.path = archive_entry_pathname(e);
    m.dir = archive_entry_filetype(e) == AE_IFDIR;
    m.link = archive_entry_filetype(e) == AE_IFLNK;
    if (m.link) {
      m.content = archive_entry_symlink(e);
    } else if (!m.dir) {
      m.content.resize(static_cast<size_t>(archive_entry_size(e)));
      archive_read_data(a.get(), m.content.data(), m.content.size());
    }
    out.push_back(std::move(m));
  }
  return out;
}

const Member* find(const std::vector<Member>& members, const std::string& path)
{
  auto it =
      std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.path == path; });
  return it == members.end() ? nullptr : &*it;
}

using rehost::test::host_kernel;
using rehost::test::host_kernel_or_skip;

const std::string k_mods = "usr/lib/modules/" + host_kernel();

// An initramfs-tools image as a VMware server has it: MODULES=dep, no NVMe, early microcode.
std::string vmware_image(const std::string& filter, std::string* early_out = nullptr)
{
  std::string early =
      make_archive({{"kernel", "", true}, {"kernel/x86/microcode/GenuineIntel.bin", "ucode"}}, "");
  early += std::string(512 - early.size() % 512, '\0');
  if (early_out) {
    *early_out = early;
  }
  std::string main = make_archive(
      {{"usr", "", true},
       {"usr/lib", "", true},
       {"lib", "usr/lib", false, true},
       {"usr/lib/modules", "", true},
       {k_mods, "", true},
       {k_mods + "/kernel", "", true},
       {k_mods + "/kernel/drivers", "", true},
       {k_mods + "/kernel/drivers/scsi", "", true},
       {k_mods + "/kernel/drivers/scsi/vmw_pvscsi.ko", "pvscsi module"},
       {k_mods + "/modules.order", "kernel/drivers/scsi/vmw_pvscsi.ko\n"},
       {k_mods + "/modules.dep", "kernel/drivers/scsi/vmw_pvscsi.ko:\n"},
       {k_mods + "/modules.alias.bin", "stale index"},
       {"conf", "", true},
       {"conf/conf.d", "", true},
       {"conf/modules", "# from /etc/initramfs-tools/modules\nvmw_pvscsi\n"},
       {"conf/conf.d/resume", "RESUME=/dev/sda2\n"},
       {"etc", "", true},
       {"etc/udev", "", true},
       {"etc/udev/rules.d", "", true},
       {"etc/udev/rules.d/70-persistent-net.rules", "SUBSYSTEM==\"net\", NAME=\"eth0\"\n"},
       {"init", "#!/bin/sh\n"}},
      filter);
  return early + main;
}

std::string host_module(const std::string& rel)
{
  return rehost::test::read_file("/lib/modules/" + host_kernel() + "/" + rel);
}

RepackInput nitro_input()
{
  RepackInput in;
  in.version = host_kernel();
  in.modules_dep = host_module("modules.dep");
  in.drivers = {"nvme", "nvme_core", "ena", "virtio_no_such_driver"}; // the last: not there
  in.read_module = [](const std::string& rel) -> rehost::Result<std::string> {
    return host_module(rel);
  };
  in.load_list = "conf/modules";
  in.replace["conf/conf.d/resume"] = "RESUME=UUID=3d5f84a5\n";
  in.remove.insert("etc/udev/rules.d/70-persistent-net.rules");
  return in;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("repack: the target's drivers, their dependencies and the changed files go into the "
            "image; the early segment and the rest stay")
  {
    if (!host_kernel_or_skip()) {
      return;
    }
    for (const char* filter : {"zstd", "gzip", ""}) {
      CAPTURE(filter);
      std::string early;
      std::string image = vmware_image(filter, &early);
      auto r = repack_initramfs(image, nitro_input());
      REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
      CHECK(r->compression == (*filter ? filter : "none"));
      CHECK(r->image.compare(0, early.size(), early) == 0);
      auto listing = list_initramfs(r->image);
      REQUIRE(listing);
      CHECK(listing->segments.back() == (*filter ? std::string("cpio+") + filter : "cpio"));
      // Dependencies first (nvme needs nvme-core and the T10 PI code); a driver the kernel
      // lacks is not added.
      auto at = [&](const std::string& name) {
        return std::find(r->added.begin(), r->added.end(), name) - r->added.begin();
      };
      CHECK(r->added.size() >= 4);
      CHECK(at("nvme_core") < at("nvme"));
      CHECK(at("t10_pi") < at("nvme"));
      CHECK(at("nvme") < static_cast<long>(r->added.size()));
      CHECK(at("ena") < static_cast<long>(r->added.size()));
      CHECK(r->loaded == std::vector<std::string>{"nvme", "nvme_core", "ena"});
      auto m = members_of(r->image);
      const Member* nvme = find(m, k_mods + "/kernel/drivers/nvme/host/nvme.ko");
      REQUIRE(nvme);
      CHECK(nvme->content == host_module("kernel/drivers/nvme/host/nvme.ko"));
      CHECK(find(m, k_mods + "/kernel/drivers/nvme/host/nvme-core.ko"));
      CHECK(find(m, k_mods + "/kernel/drivers/net/ethernet/amazon/ena/ena.ko"));
      // The kernel creates no missing parents: each new directory comes before its files.
      auto index = [&](const std::string& p) {
        return std::find_if(m.begin(), m.end(), [&](const Member& x) { return x.path == p; })
               - m.begin();
      };
      REQUIRE(find(m, k_mods + "/kernel/drivers/nvme"));
      CHECK(find(m, k_mods + "/kernel/drivers/nvme")->dir);
      CHECK(index(k_mods + "/kernel/drivers/nvme")
            < index(k_mods + "/kernel/drivers/nvme/host/nvme.ko"));
      CHECK(index(k_mods + "/kernel/drivers/net/ethernet/amazon/ena")
            < index(k_mods + "/kernel/drivers/net/ethernet/amazon/ena/ena.ko"));
      // What was there stays, links included.
      REQUIRE(find(m, k_mods + "/kernel/drivers/scsi/vmw_pvscsi.ko"));
      CHECK(find(m, k_mods + "/kernel/drivers/scsi/vmw_pvscsi.ko")->content == "pvscsi module");
      REQUIRE(find(m, "lib"));
      CHECK(find(m, "lib")->link);
      CHECK(find(m, "lib")->content == "usr/lib");
      CHECK(find(m, "init")->content == "#!/bin/sh\n");
      // The conversion's changes.
      CHECK(find(m, "conf/modules")->content
            == "# from /etc/initramfs-tools/modules\nvmw_pvscsi\nnvme\nnvme_core\nena\n");
      CHECK(find(m, "conf/conf.d/resume")->content == "RESUME=UUID=3d5f84a5\n");
      CHECK_FALSE(find(m, "etc/udev/rules.d/70-persistent-net.rules"));
      // The indexes are depmod's, for the modules now there; the stale one is gone or new.
      REQUIRE(find(m, k_mods + "/modules.dep"));
      const std::string& dep = find(m, k_mods + "/modules.dep")->content;
      CHECK(dep.find("kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko")
            != std::string::npos);
      CHECK(dep.find("kernel/drivers/scsi/vmw_pvscsi.ko:") != std::string::npos);
      const Member* alias = find(m, k_mods + "/modules.alias.bin");
      CHECK((!alias || alias->content != "stale index"));
      CHECK(std::count_if(m.begin(), m.end(),
                          [](const Member& x) { return x.path == "conf/modules"; })
            == 1);
    }
  }

  TEST_CASE("repack: an image whose drivers are all there only gets its changed files")
  {
    if (!host_kernel_or_skip()) {
      return;
    }
    RepackInput in = nitro_input();
    in.drivers = {"vmw_pvscsi"};
    auto r = repack_initramfs(vmware_image("gzip"), in);
    REQUIRE(r);
    CHECK(r->added.empty());
    CHECK(r->loaded.empty());
    auto m = members_of(r->image);
    CHECK(find(m, "conf/modules")->content == "# from /etc/initramfs-tools/modules\nvmw_pvscsi\n");
    CHECK(find(m, "conf/conf.d/resume")->content == "RESUME=UUID=3d5f84a5\n");
  }

  TEST_CASE("repack: what it cannot write again or read is an error naming why")
  {
    if (!host_kernel_or_skip()) {
      return;
    }
    auto xz = repack_initramfs(vmware_image("xz"), nitro_input());
    REQUIRE_FALSE(xz);
    CHECK(xz.error().message.find("cpio+xz") != std::string::npos);
    RepackInput other = nitro_input();
    other.version = "5.10.0-1-amd64";
    auto none = repack_initramfs(vmware_image("zstd"), other);
    REQUIRE_FALSE(none);
    CHECK(none.error().message == "it holds no modules of kernel 5.10.0-1-amd64");
    // A host depmod that finds no dependencies (here: modules it cannot read) is caught.
    RepackInput unreadable_by_depmod = nitro_input();
    unreadable_by_depmod.read_module = [](const std::string& rel) -> rehost::Result<std::string> {
      return rel.ends_with(".ko") ? "not an ELF file" : host_module(rel);
    };
    auto blind = repack_initramfs(vmware_image("zstd"), unreadable_by_depmod);
    REQUIRE_FALSE(blind);
    CHECK(blind.error().message.find("the host's depmod did not find the dependencies of")
          != std::string::npos);
    RepackInput unreadable = nitro_input();
    unreadable.read_module = [](const std::string& rel) -> rehost::Result<std::string> {
      return rehost::fail("{}: Input/output error", rel);
    };
    auto broken = repack_initramfs(vmware_image("zstd"), unreadable);
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message.find("cannot read kernel/") != std::string::npos);
    CHECK_FALSE(repack_initramfs("garbage", nitro_input()));
  }

  TEST_CASE("repack: a host-only image that names a device of the old hardware is refused")
  {
    if (!host_kernel_or_skip()) {
      return;
    }
    // dracut's host-only files: the root it found (etc/cmdline.d) and the devices the initqueue
    // waits for. A by-path name or a disk name of the VMware controller is gone on the target.
    const std::string hook = "usr/lib/dracut/hooks/initqueue/finished/";
    auto dracut_image = [&](const std::string& cmdline, const std::string& wait) {
      return make_archive({{"usr", "", true},
                           {"usr/lib", "", true},
                           {"lib", "usr/lib", false, true},
                           {"usr/lib/modules", "", true},
                           {k_mods, "", true},
                           {k_mods + "/kernel", "", true},
                           {k_mods + "/modules.order", ""},
                           {"etc", "", true},
                           {"etc/cmdline.d", "", true},
                           {"etc/cmdline.d/95root-dev.conf", cmdline},
                           {"usr/lib/dracut", "", true},
                           {"usr/lib/dracut/hooks", "", true},
                           {"usr/lib/dracut/hooks/initqueue", "", true},
                           {hook, "", true},
                           {hook + "devexists-x.sh", "[ -e \"" + wait + "\" ]\n"},
                           {"init", "#!/bin/sh\n"}},
                          "gzip");
    };
    RepackInput in = nitro_input();
    in.load_list = "";
    in.replace.clear();
    in.remove.clear();
    in.device_files = {"etc/cmdline.d/", hook, "etc/fstab"};
    const std::string uuid_root = " root=UUID=1d604d06 rootfstype=ext4 rootflags=rw,relatime\n";
    const std::string uuid_swap = "/dev/disk/by-uuid/004c12bf";

    auto fine = repack_initramfs(dracut_image(uuid_root, uuid_swap), in);
    REQUIRE_MESSAGE(fine, (fine ? "" : fine.error().message));
    CHECK(find(members_of(fine->image), k_mods + "/kernel/drivers/nvme/host/nvme.ko"));
    CHECK(find(members_of(fine->image), "etc/cmdline.d/95root-dev.conf")->content == uuid_root);

    auto root = repack_initramfs(dracut_image(" root=/dev/sda1 rootfstype=ext4\n", uuid_swap), in);
    REQUIRE_FALSE(root);
    CHECK(root.error().message
          == "etc/cmdline.d/95root-dev.conf names /dev/sda1, a device of the old hardware that "
             "the target does not have");
    const std::string by_path = "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part2";
    auto wait = repack_initramfs(dracut_image(uuid_root, by_path), in);
    REQUIRE_FALSE(wait);
    CHECK(wait.error().message.starts_with(hook + "devexists-x.sh names " + by_path + ","));
    // What is checked is the file as the new image holds it.
    RepackInput fixed = in;
    fixed.replace["etc/cmdline.d/95root-dev.conf"] = uuid_root;
    CHECK(repack_initramfs(dracut_image(" root=/dev/sda1\n", uuid_swap), fixed));
    RepackInput dropped = in;
    dropped.remove.insert(hook + "devexists-x.sh");
    CHECK(repack_initramfs(dracut_image(uuid_root, by_path), dropped));
    // Files outside the list are not examined.
    RepackInput unlisted = in;
    unlisted.device_files = {"etc/fstab"};
    CHECK(repack_initramfs(dracut_image(" root=/dev/sda1\n", by_path), unlisted));
  }

  TEST_CASE("repack: paths that leave the module tree and second archives are refused")
  {
    if (!host_kernel_or_skip()) {
      return;
    }
    // An image entry that climbs out of the module directory would be written on the host.
    std::string climbing = make_archive(
        {{k_mods + "/kernel/a.ko", "a"}, {k_mods + "/../../../../../tmp/rehost-escape", "x"}},
        "gzip");
    auto out = repack_initramfs(climbing, nitro_input());
    REQUIRE_FALSE(out);
    CHECK(out.error().message.find("leaves the module directory") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists("/tmp/rehost-escape"));
    // So would a modules.dep path of the guest's kernel.
    RepackInput hostile = nitro_input();
    hostile.modules_dep = "../../../../tmp/rehost-escape/nvme.ko:\n";
    hostile.drivers = {"nvme"};
    auto dep = repack_initramfs(vmware_image("gzip"), hostile);
    REQUIRE_FALSE(dep);
    CHECK(dep.error().message.find("outside its tree") != std::string::npos);
    // Two archives in one compressed stream: libarchive reads only the first; the kernel both.
    std::string first = make_archive({{k_mods + "/kernel/a.ko", "a"}}, "");
    std::string second = make_archive({{"etc/second", "b"}}, "");
    std::unique_ptr<archive, decltype(&archive_write_free)> w(archive_write_new(),
                                                              archive_write_free);
    archive_write_set_format_raw(w.get());
    archive_write_add_filter_gzip(w.get());
    std::string gz(1 << 20, '\0');
    size_t used = 0;
    archive_write_open_memory(w.get(), gz.data(), gz.size(), &used);
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    archive_entry_free);
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_write_header(w.get(), e.get());
    std::string both = first + second;
    archive_write_data(w.get(), both.data(), both.size());
    archive_write_close(w.get());
    gz.resize(used);
    auto two = repack_initramfs(gz, nitro_input());
    REQUIRE_FALSE(two);
    CHECK(two.error().message == "its main segment holds more than one cpio archive");
  }
}
