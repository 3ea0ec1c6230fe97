#include "converter/native_disk.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "bootloader/device_names.hpp"
#include "bootloader/fstab.hpp"
#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "converter/lvm_metadata.hpp"
#include "converter/os_identity.hpp"
#include "converter/partition_table.hpp"
#include "converter/process.hpp"
#include "converter/sandbox.hpp"

namespace rehost {

namespace fs = std::filesystem;

namespace {

// Mounts made from here on are private to this process (and die with it).
Result<void> enter_private_mount_namespace()
{
  static std::once_flag once;
  static int error = 0;
  std::call_once(once, [] {
    if (unshare(CLONE_NEWNS) != 0
        || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      error = errno;
    }
  });
  if (error != 0) {
    return fail("cannot create a private mount namespace: {}", std::strerror(error));
  }
  return {};
}

bool linux_root_candidate(const std::string& type)
{
  return type == "ext2" || type == "ext3" || type == "ext4" || type == "xfs" || type == "btrfs";
}

bool mountable(const std::string& type)
{
  return linux_root_candidate(type) || type == "vfat";
}

// "VG-LV", as device-mapper names an LV: each '-' inside a name doubled.
std::string mapper_name(const std::string& vg, const std::string& lv)
{
  auto escape = [](const std::string& name) {
    std::string out;
    for (char c : name) {
      out += c;
      if (c == '-') {
        out += '-';
      }
    }
    return out;
  };
  return escape(vg) + "-" + escape(lv);
}

// "/dev/sda1" -> "/dev/rehost-sda1"; an LV "/dev/vg0/root" -> "/dev/mapper/vg0-root", where the
// guest's own system has it: mounts show it as their source, so grub-mkconfig writes root= as
// on the original (see describe_disk).
std::string view_device(const std::string& device)
{
  std::string name = device.substr(5);
  if (size_t slash = name.find('/'); slash != std::string::npos) {
    return "/dev/mapper/" + mapper_name(name.substr(0, slash), name.substr(slash + 1));
  }
  return "/dev/rehost-" + name;
}

// The libguestfs name of the LV a guest names "/dev/mapper/VG-LV" or "/dev/VG/LV", or "".
std::string logical_volume_name(const std::string& spec)
{
  const std::string mapper = "/dev/mapper/";
  if (spec.rfind(mapper, 0) == 0) {
    // A single '-' separates VG and LV; inside names it is doubled.
    std::string vg, lv;
    std::string name = spec.substr(mapper.size());
    bool in_lv = false;
    for (size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '-' && i + 1 < name.size() && name[i + 1] == '-') {
        (in_lv ? lv : vg) += '-';
        ++i;
      } else if (name[i] == '-' && !in_lv) {
        in_lv = true;
      } else {
        (in_lv ? lv : vg) += name[i];
      }
    }
    return in_lv && !vg.empty() && !lv.empty() ? "/dev/" + vg + "/" + lv : "";
  }
  if (spec.rfind("/dev/", 0) == 0 && std::count(spec.begin(), spec.end(), '/') == 3) {
    return spec;
  }
  return "";
}

// What blkid finds in `size` bytes at `offset` of `file`, named `device`.
std::optional<Filesystem> probe_filesystem(const std::string& file, const std::string& device,
                                           uint64_t offset, uint64_t size)
{
  ProcessOptions options;
  options.timeout = std::chrono::seconds(60);
  auto probe = run_process({"blkid", "-p", "-o", "export", "-O", std::to_string(offset), "-S",
                            std::to_string(size), file},
                           options);
  if (!probe || probe->exit_status == 2) {
    return std::nullopt; // nothing recognisable
  }
  Filesystem f;
  f.device = device;
  std::istringstream lines(probe->out);
  std::string line;
  while (std::getline(lines, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 1);
    if (key == "TYPE") {
      f.type = value;
    } else if (key == "UUID") {
      f.uuid = value;
    } else if (key == "LABEL") {
      f.label = value;
    }
  }
  if (f.type.empty()) {
    return std::nullopt;
  }
  return f;
}

// An O_PATH descriptor of a directory inside `root`, resolved as the guest would.
int open_dir_in_root(const std::string& root, const std::string& guest_path)
{
  int root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    return -errno;
  }
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = guest_path.substr(guest_path.find_first_not_of('/') == std::string::npos
                                          ? guest_path.size()
                                          : guest_path.find_first_not_of('/'));
  if (rel.empty()) {
    rel = ".";
  }
  long fd = syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
  int saved = errno;
  close(root_fd);
  return fd < 0 ? -saved : static_cast<int>(fd);
}

// The files a work directory holds (besides the device nodes in view/dev).
const char* const k_work_files[] = {"/view/probe", "/view/root",    "/view/proc",
                                    "/view/dev",   "/view",         "/scratch.qcow2",
                                    "/disk.raw",   "/disk.raw.log", "/dm-table"};

void remove_work_files(const std::string& workdir)
{
  std::error_code ec;
  for (const char* dir : {"/view/dev/mapper", "/view/dev"}) {
    for (const auto& e : fs::directory_iterator(workdir + dir, ec)) {
      if (e.is_block_file(ec)) {
        ::remove(e.path().c_str());
      }
    }
  }
  ::rmdir((workdir + "/view/dev/mapper").c_str());
  for (const char* name : k_work_files) {
    ::remove((workdir + name).c_str());
  }
  ::rmdir(workdir.c_str());
}

const std::string k_workdir_prefix = "rehost-native-";

// Work directories of runs that were killed (their mounts died with their namespace).
void remove_stale_workdirs()
{
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/tmp", ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(k_workdir_prefix, 0) != 0) {
      continue;
    }
    long pid = std::strtol(name.c_str() + k_workdir_prefix.size(), nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      remove_work_files(e.path().string());
    }
  }
}

} // namespace

bool NativeDisk::available(std::string* why)
{
  auto no = [&](const char* reason) {
    if (why) {
      *why = reason;
    }
    return false;
  };
  if (geteuid() != 0) {
    return no("it needs root");
  }
  if (!loop_devices_available()) {
    return no("there is no /dev/loop-control");
  }
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    return no("there is no /dev/fuse");
  }
  if (!have_program("qemu-storage-daemon") || !have_program("blkid")) {
    return no("qemu-storage-daemon or blkid is not installed");
  }
  return true;
}

Result<std::unique_ptr<NativeDisk>> NativeDisk::open(const std::string& image,
                                                     const std::string& format, DiskAccess access)
{
  if (auto r = enter_private_mount_namespace(); !r) {
    return std::unexpected(r.error());
  }
  std::unique_ptr<NativeDisk> disk(new NativeDisk());
  disk->m_access = access;
  remove_stale_workdirs();
  if (device_mapper_available()) {
    remove_stale_dm_devices();
  }
  std::string work = "/tmp/" + k_workdir_prefix + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(work.data())) {
    return fail("cannot create a work directory in /tmp: {}", std::strerror(errno));
  }
  disk->m_workdir = work;
  std::string exported = image;
  std::string exported_format = format;
  if (access == DiskAccess::read_only) {
    // Writes (journal replay) land in a throwaway overlay; the image is only read.
    disk->m_scratch_overlay = disk->m_workdir + "/scratch.qcow2";
    auto r = run_process({"qemu-img", "create", "-q", "-f", "qcow2", "-b", image, "-F", format,
                          disk->m_scratch_overlay});
    if (!r || !r->ok()) {
      return fail("{}: cannot create a scratch overlay: {}", image,
                  r ? describe_failure({"qemu-img"}, *r) : r.error().message);
    }
    exported = disk->m_scratch_overlay;
    exported_format = "qcow2";
  }
  auto e = BlockExport::start(exported, exported_format, disk->m_workdir + "/disk.raw", true);
  if (!e) {
    return std::unexpected(e.error());
  }
  disk->m_export = std::move(*e);
  return disk;
}

NativeDisk::~NativeDisk()
{
  (void)shutdown();
}

NativeDisk::Region* NativeDisk::region(const std::string& device)
{
  for (auto& r : m_regions) {
    if (r.device == device) {
      return &r;
    }
  }
  return nullptr;
}

Result<DiskInfo> NativeDisk::describe_disk()
{
  const std::string file = m_export.path();
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    return fail("{}: {}", file, std::strerror(errno));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail("{}: {}", file, std::strerror(errno));
  }
  auto reader = [&](uint64_t offset, size_t count) -> Result<std::string> {
    std::string bytes(count, '\0');
    ssize_t got = pread(fd, bytes.data(), count, static_cast<off_t>(offset));
    if (got < 0) {
      return fail("cannot read the disk at {}: {}", offset, std::strerror(errno));
    }
    bytes.resize(static_cast<size_t>(got));
    return bytes;
  };
  auto table = read_partition_table("/dev/sda", size, reader);
  if (!table) {
    close(fd);
    return std::unexpected(table.error());
  }
  m_regions.clear();
  m_lvm_problems.clear();
  for (const auto& p : table->partitions) {
    if (p.kind != "extended") {
      m_regions.push_back({"/dev/sda" + std::to_string(p.number), p.start, p.size});
    }
  }
  if (m_regions.empty()) {
    m_regions.push_back({"/dev/sda", 0, size}); // a file system on the whole disk
  }
  m_disk = DiskInfo{};
  m_disk.tables.push_back(std::move(*table));
  for (const auto& r : m_regions) {
    if (auto f = probe_filesystem(file, r.device, r.offset, r.size)) {
      m_disk.filesystems.push_back(std::move(*f));
    }
  }
  add_logical_volumes(reader, size);
  close(fd);
  // Every file system gets its loop device (or device-mapper device) now, and a node in the
  // view's /dev named /dev/rehost-sda1 after the guest's device: mounts then show that as their
  // source. grub-mkconfig refuses loop devices backed by files (10_linux), and grub-probe takes
  // "sda1" for a partition of a "sda" it cannot find; a whole-disk name satisfies both.
  m_view = m_workdir + "/view";
  fs::create_directories(m_view + "/dev/mapper");
  fs::create_directories(m_view + "/proc");
  if (mount("proc", (m_view + "/proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr)
      != 0) {
    return fail("cannot mount /proc for the mount helper: {}", std::strerror(errno));
  }
  m_mounts.push_back(m_view + "/proc");
  map_logical_volumes();
  for (auto& r : m_regions) {
    const Filesystem* f = m_disk.by_device(r.device);
    if (r.table || !f || !(mountable(f->type) || f->type == "swap")) {
      continue;
    }
    // Writable even for read-only commands: the export is then a throwaway overlay.
    auto loop = LoopDevice::attach(file, r.offset, r.size, LoopAccess::read_write);
    if (!loop) {
      return std::unexpected(loop.error());
    }
    struct stat lst;
    if (::stat(loop->path().c_str(), &lst) != 0
        || mknod((m_view + view_device(r.device)).c_str(), S_IFBLK | 0600, lst.st_rdev) != 0) {
      return fail("cannot create {} in the work directory: {}", r.device, std::strerror(errno));
    }
    r.loop = std::move(*loop);
  }
  check_holders();
  return m_disk;
}

void NativeDisk::add_logical_volumes(
    const std::function<Result<std::string>(uint64_t, size_t)>& reader, uint64_t disk_size)
{
  // Each physical volume's label and newest metadata; a VG on several PVs has its text on each.
  std::map<std::string, lvm::VolumeGroup> groups;
  std::map<std::string, lvm::ByteRange> pv_places; // by PV UUID
  struct Pv {
    std::string device;
    uint64_t offset;
    uint64_t size;
  };
  std::vector<Pv> pvs;
  for (const auto& f : m_disk.filesystems) {
    if (f.type == "LVM2_member") {
      pvs.push_back({f.device, region(f.device)->offset, region(f.device)->size});
    }
  }
  for (const auto& r : pvs) {
    auto head = reader(r.offset, 2048);
    auto label = head ? lvm::parse_label(*head) : std::unexpected(head.error());
    if (!label) {
      m_lvm_problems.push_back(r.device + ": " + label.error().message);
      continue;
    }
    if (!pv_places.emplace(label->pv_uuid, lvm::ByteRange{r.offset, r.size}).second) {
      // A cloned PV: which one the VG means cannot be told.
      m_lvm_problems.push_back(r.device + ": a second physical volume with UUID " + label->pv_uuid);
      continue;
    }
    auto in_pv = [&](uint64_t offset, size_t count) { return reader(r.offset + offset, count); };
    auto vg = lvm::read_newest_metadata(in_pv, *label);
    if (!vg) {
      m_lvm_problems.push_back(r.device + ": " + vg.error().message);
      continue;
    }
    auto known = groups.find(vg->name);
    if (known == groups.end()) {
      groups.emplace(vg->name, std::move(*vg));
    } else if (known->second.id != vg->id) {
      m_lvm_problems.push_back(fmt::format("two volume groups named {}", vg->name));
    } else if (vg->seqno > known->second.seqno) {
      known->second = std::move(*vg);
    }
  }
  // Each LV that is one run of the disk is a region like a partition. Linear LVs in several
  // pieces and striped ones are joined by device-mapper where this host has it; the others
  // (and those, without device-mapper) go to the appliance with the whole disk: writing around
  // some of them (a snapshot's origin) is not safe.
  const std::string file = m_export.path();
  for (const auto& [name, vg] : groups) {
    for (const auto& lv : vg.lvs) {
      auto ranges = lvm::disk_ranges(vg, lv, pv_places);
      if (!ranges || ranges->size() != 1) {
        std::string problem = ranges ? fmt::format("{}/{} is in {} separate parts of the disk",
                                                   vg.name, lv.name, ranges->size())
                                     : ranges.error().message;
        add_mapped_volume(vg, lv, pv_places, disk_size, problem);
        continue;
      }
      if (!lv.visible()) {
        continue;
      }
      Region r{lvm::device_name(vg, lv), ranges->front().offset, ranges->front().size};
      if (r.offset + r.size > disk_size) {
        m_lvm_problems.push_back(
            fmt::format("{}/{} runs past the end of the disk", vg.name, lv.name));
        continue;
      }
      if (auto f = probe_filesystem(file, r.device, r.offset, r.size)) {
        m_disk.filesystems.push_back(std::move(*f));
      }
      m_regions.push_back(std::move(r));
    }
  }
}

void NativeDisk::add_mapped_volume(const lvm::VolumeGroup& vg, const lvm::LogicalVolume& lv,
                                   const std::map<std::string, lvm::ByteRange>& pvs,
                                   uint64_t disk_size, const std::string& problem)
{
  std::string why;
  if (!device_mapper_available(&why)) {
    log::debug("{}; no device-mapper here ({})", problem, why);
    m_lvm_problems.push_back(problem);
    return;
  }
  auto table = lvm::device_table(vg, lv, pvs);
  if (!table) {
    m_lvm_problems.push_back(table.error().message);
    return;
  }
  if (!lv.visible()) {
    return;
  }
  for (const auto& area : table->areas) {
    if (area.offset + area.size > disk_size) {
      m_lvm_problems.push_back(
          fmt::format("{}/{} runs past the end of the disk", vg.name, lv.name));
      return;
    }
  }
  Region r{lvm::device_name(vg, lv), 0, table->sectors() * 512};
  r.table = std::move(*table);
  m_regions.push_back(std::move(r));
}

void NativeDisk::map_logical_volumes()
{
  // Unique to this run, as its work directory is ("rehost-PID-XXXXXX-N"); the prefix tells
  // rehost's devices from the host's own.
  const std::string run = fs::path(m_workdir).filename().string().substr(k_workdir_prefix.size());
  size_t count = 0;
  for (auto& r : m_regions) {
    if (!r.table) {
      continue;
    }
    interrupt::check();
    std::string name = "rehost-" + run + "-" + std::to_string(count++);
    if (auto made = map_region(r, name); !made) {
      m_lvm_problems.push_back(fmt::format("{}: {}", r.device.substr(5), made.error().message));
      (void)unmap_region(r);
      continue;
    }
    auto f = probe_filesystem(r.mapped.node(), r.device, 0, r.size);
    bool used = f && (mountable(f->type) || f->type == "swap");
    if (f) {
      m_disk.filesystems.push_back(std::move(*f));
    }
    if (!used) {
      (void)unmap_region(r);
    }
  }
}

Result<void> NativeDisk::map_region(Region& region, const std::string& name)
{
  // One loop device per area: none of them starts at a PV's label, so udev finds no
  // LVM2_member on them and the host's LVM activates nothing (lvm2's 69-lvm rules).
  std::vector<std::string> devices;
  for (const auto& area : region.table->areas) {
    auto loop = LoopDevice::attach(m_export.path(), area.offset, area.size, LoopAccess::read_write);
    if (!loop) {
      return std::unexpected(loop.error());
    }
    struct stat st;
    if (::stat(loop->path().c_str(), &st) != 0) {
      return fail("{}: {}", loop->path(), std::strerror(errno));
    }
    devices.push_back(fmt::format("{}:{}", major(st.st_rdev), minor(st.st_rdev)));
    region.parts.push_back(std::move(*loop));
  }
  std::string table = lvm::table_text(*region.table, devices);
  log::debug("{}: device-mapper device {}:\n{}", region.device, name, table);
  auto mapped =
      DmDevice::create(name, table, m_workdir + "/dm-table", m_view + view_device(region.device));
  if (!mapped) {
    return std::unexpected(mapped.error());
  }
  region.mapped = std::move(*mapped);
  return {};
}

Result<void> NativeDisk::unmap_region(Region& region)
{
  auto removed = region.mapped.remove();
  // A loop device detaches at once only when nothing holds it any more; device-mapper may
  // still be letting go of it (the kernel's deferred removal runs on its own).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (const auto& part : region.parts) {
    while (!block_holders(part.path()).empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (auto held = block_holders(part.path()); !held.empty()) {
      log::warning("{} (under {}) is still held by {}; it detaches when that is removed",
                   part.path(), region.device, held.front());
    }
  }
  region.parts.clear();
  return removed;
}

void NativeDisk::check_holders()
{
  // Nothing may be stacked on rehost's devices but its own device-mapper devices on their loop
  // devices. Anything else is the host's doing (its LVM activating a volume group it found,
  // md assembling an array): two users of one volume, so the disk goes to the appliance. The
  // host's device is left alone.
  for (const auto& r : m_regions) {
    std::vector<std::pair<std::string, std::string>> devices; // (path, the holder it may have)
    if (!r.loop.path().empty()) {
      devices.emplace_back(r.loop.path(), "");
    }
    for (const auto& part : r.parts) {
      devices.emplace_back(part.path(), r.mapped.kernel_name());
    }
    if (r.mapped.active()) {
      devices.emplace_back(r.mapped.node(), "");
    }
    for (const auto& [path, ours] : devices) {
      for (const auto& holder : block_holders(path)) {
        if (holder == ours) {
          continue;
        }
        std::string name = dm_name_of(holder);
        m_lvm_problems.push_back(fmt::format("{}, whose device {} is held by the host's own {}{}",
                                             r.device, path, holder,
                                             name.empty() ? "" : " (" + name + ")"));
      }
    }
  }
}

// The file system types the running kernel can mount (/proc/filesystems).
static std::set<std::string> kernel_filesystems()
{
  std::set<std::string> out;
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.rfind('\t');
    out.insert(tab == std::string::npos ? line : line.substr(tab + 1));
  }
  return out;
}

std::vector<std::string> NativeDisk::unmountable_here() const
{
  std::vector<std::string> out;
  auto known = kernel_filesystems();
  for (const auto& f : m_disk.filesystems) {
    if (!mountable(f.type) || known.count(f.type)) {
      continue;
    }
    // A driver built as a module is loaded on demand; try it once.
    ProcessOptions options;
    options.timeout = std::chrono::seconds(30);
    (void)run_process({"modprobe", "-q", f.type}, options);
    known = kernel_filesystems();
    if (!known.count(f.type)) {
      out.push_back(f.type + " on " + f.device);
    }
  }
  return out;
}

std::vector<std::string> NativeDisk::needs_device_mapper() const
{
  // LVM volumes that are one run of the disk are read without device-mapper, linear and
  // striped ones in pieces with it where the host has it (describe_disk).
  std::vector<std::string> out = m_lvm_problems;
  for (const auto& f : m_disk.filesystems) {
    // LUKS is not here: without a key (rehost takes none) the appliance could not open it either.
    // md stays with the appliance even where the host has md: mounting one member of a mirror
    // and writing to it would leave the others stale.
    if (f.type == "linux_raid_member" || f.type == "ddf_raid_member"
        || f.type == "isw_raid_member") {
      out.push_back(f.type + " on " + f.device);
    }
  }
  return out;
}

Result<void> NativeDisk::mount_region(const Region& region, const std::string& fstype,
                                      const std::string& target, bool read_only)
{
  if (region.host_device().empty()) {
    return fail("{}: no device for it", region.device);
  }
  // The mount is made by a child chrooted into the view, so its source reads "/dev/sda1".
  std::string data = fstype == "xfs" ? "nouuid" : "";
  unsigned long flags = MS_NODEV | MS_NOSUID | (read_only ? MS_RDONLY : 0);
  std::string view = m_view;
  std::string device = view_device(region.device);
  ProcessOptions options;
  options.timeout = std::chrono::seconds(300);
  options.child_main = [&]() -> int {
    if (chroot(view.c_str()) != 0 || chdir("/") != 0) {
      return 100;
    }
    if (mount(device.c_str(), target.c_str(), fstype.c_str(), flags,
              data.empty() ? nullptr : data.c_str())
        != 0) {
      std::string msg = std::strerror(errno);
      (void)!write(2, msg.data(), msg.size());
      return 101;
    }
    return 0;
  };
  auto r = run_process({"mount"}, options);
  if (!r || !r->ok()) {
    return fail("cannot mount {} ({}): {}", region.device, fstype,
                r ? (r->err.empty() ? "mount helper failed" : r->err) : r.error().message);
  }
  return {};
}

Result<std::vector<std::string>> NativeDisk::find_roots()
{
  std::vector<std::string> roots;
  const std::string probe = m_view + "/probe";
  fs::create_directories(probe);
  for (const auto& f : m_disk.filesystems) {
    if (!linux_root_candidate(f.type)) {
      continue;
    }
    const Region* r = region(f.device);
    if (!r) {
      continue;
    }
    interrupt::check();
    auto mounted = mount_region(*r, f.type, "/probe", true);
    if (!mounted) {
      log::debug("{}", mounted.error().message);
      continue;
    }
    bool is_root = false;
    if (auto guest = DirGuest::open(probe)) {
      for (const auto& file : release_files()) {
        is_root = is_root || is_file(**guest, file);
      }
    }
    umount2(probe.c_str(), 0);
    if (is_root) {
      roots.push_back(f.device);
    }
  }
  return roots;
}

Result<void> NativeDisk::mount_root(const std::string& root, DiskInfo& disk)
{
  const Filesystem* root_fs = m_disk.by_device(root);
  Region* root_region = region(root);
  if (!root_fs || !root_region) {
    return fail("{}: not a file system of this disk", root);
  }
  const bool ro = m_access == DiskAccess::read_only;
  m_root_path = m_view + "/root";
  fs::create_directories(m_root_path);
  if (auto r = mount_region(*root_region, root_fs->type, "/root", ro); !r) {
    return std::unexpected(r.error());
  }
  m_mounts.push_back(m_root_path);
  disk.root_device = root;
  disk.mounts.push_back({"/", root});

  // The other local file systems of its fstab, parents first.
  auto guest = DirGuest::open(m_root_path);
  if (!guest) {
    return std::unexpected(guest.error());
  }
  auto fstab = (*guest)->read_file("/etc/fstab", 1 << 20);
  if (!fstab) {
    return {};
  }
  struct Wanted {
    std::string mountpoint;
    const Filesystem* fs;
  };
  std::vector<Wanted> wanted;
  for (const auto& e : bootloader::parse_fstab(*fstab)) {
    std::string mp = e.mountpoint();
    if (e.fields.size() < 3 || mp.empty() || mp[0] != '/' || mp == "/" || e.has_option("noauto")) {
      continue;
    }
    auto name = bootloader::classify_device_name(e.spec());
    const Filesystem* f = nullptr;
    if (name.kind == bootloader::DeviceNameKind::uuid) {
      f = m_disk.by_uuid(name.value);
    } else if (name.kind == bootloader::DeviceNameKind::label) {
      f = m_disk.by_label(name.value);
    } else if (name.kind == bootloader::DeviceNameKind::controller) {
      if (auto appliance = bootloader::appliance_name(name)) {
        f = m_disk.by_device(*appliance);
      }
    } else if (auto lv = logical_volume_name(e.spec()); !lv.empty()) {
      f = m_disk.by_device(lv);
    }
    if (f && mountable(f->type) && f->device != root) {
      wanted.push_back({mp, f});
    }
  }
  std::sort(wanted.begin(), wanted.end(), [](const Wanted& a, const Wanted& b) {
    return std::count(a.mountpoint.begin(), a.mountpoint.end(), '/')
           < std::count(b.mountpoint.begin(), b.mountpoint.end(), '/');
  });
  for (const auto& w : wanted) {
    // The mount point is resolved inside the guest: a guest symlink cannot aim it at the host.
    int dir = open_dir_in_root(m_root_path, w.mountpoint);
    if (dir < 0) {
      log::warning("cannot mount {} on {} (skipped): {}", w.fs->device, w.mountpoint,
                   std::strerror(-dir));
      continue;
    }
    std::string target = "/proc/self/fd/" + std::to_string(dir);
    auto r = mount_region(*region(w.fs->device), w.fs->type, target, ro);
    close(dir);
    if (!r) {
      if (w.mountpoint == "/boot") {
        return std::unexpected(r.error());
      }
      log::warning("{} (skipped)", r.error().message);
      continue;
    }
    m_mounts.push_back(m_root_path + w.mountpoint);
    disk.mounts.push_back({w.mountpoint, w.fs->device});
  }
  return {};
}

std::unique_ptr<Guest> NativeDisk::guest(const std::string& firmware)
{
  auto guest = DirGuest::open(m_root_path);
  if (!guest) {
    return nullptr;
  }
  SandboxOptions options;
  options.root = m_root_path;
  options.firmware = firmware;
  for (const auto& r : m_regions) {
    if (!r.host_device().empty()) {
      const Filesystem* f = m_disk.by_device(r.device);
      SandboxDevice d{view_device(r.device).substr(5),
                      r.host_device(),
                      f ? f->uuid : "",
                      f ? f->label : "",
                      {}};
      if (r.device.find('/', 5) != std::string::npos) {
        // An LV: /dev/mapper/VG-LV, and /dev/VG/LV as a link (names checked in lvm_metadata).
        // No /dev/disk/by-uuid link, as on a system with LVM: grub-mkconfig then writes the
        // root= the original had (/dev/mapper/VG-LV) rather than root=UUID=, for which older
        // initramfs-tools does not activate LVM.
        d.aliases = {r.device.substr(5)};
        d.uuid.clear();
      }
      options.devices.push_back(std::move(d));
    }
  }
  (*guest)->set_runner(
      [options](const std::vector<std::string>& argv, std::chrono::seconds timeout) mutable {
        options.timeout = timeout;
        return run_in_sandbox(options, argv);
      },
      "native mount of the disk");
  return std::move(*guest);
}

Result<void> NativeDisk::shutdown()
{
  Result<void> result;
  // Children before parents.
  for (auto it = m_mounts.rbegin(); it != m_mounts.rend(); ++it) {
    if (umount2(it->c_str(), 0) != 0) {
      int saved = errno;
      umount2(it->c_str(), MNT_DETACH);
      if (result) {
        result = fail("cannot unmount {}: {}", *it, std::strerror(saved));
      }
    }
  }
  m_mounts.clear();
  // Device-mapper devices before the loop devices under them. One still held by something else
  // goes when that lets go of it (its removal is deferred), and its loop devices after it.
  for (auto& r : m_regions) {
    if (auto u = unmap_region(r); !u) {
      log::warning("{}", u.error().message);
    }
    if (auto held = block_holders(r.loop.path()); !held.empty()) {
      log::warning("{} ({}) is still held by {}, which rehost did not make; it detaches when "
                   "that is removed",
                   r.loop.path(), r.device, held.front());
    }
  }
  m_regions.clear(); // closes the loop devices, which then detach
  if (auto r = m_export.stop(); !r && result) {
    result = r;
  }
  if (!m_workdir.empty()) {
    // Only what we made; never a recursive removal that could enter a mount left behind.
    remove_work_files(m_workdir);
    m_workdir.clear();
  }
  return result;
}

} // namespace rehost
