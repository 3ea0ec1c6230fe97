#include "converter/partition_table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include <parted/parted.h>

namespace rehost {

namespace {

// libparted reports problems through a global exception handler that would otherwise prompt on
// the terminal. Every exception is answered "ignore" (or "cancel") and its text kept.
std::string g_parted_message;
std::mutex g_parted_mutex;

PedExceptionOption on_parted_exception(PedException* ex)
{
  if (ex->message && g_parted_message.empty()) {
    g_parted_message = ex->message;
  }
  if (ex->options & PED_EXCEPTION_IGNORE) {
    return PED_EXCEPTION_IGNORE;
  }
  if (ex->options & PED_EXCEPTION_CANCEL) {
    return PED_EXCEPTION_CANCEL;
  }
  return PED_EXCEPTION_UNHANDLED;
}

std::string kind_of(PedPartitionType type)
{
  if (type & PED_PARTITION_EXTENDED) {
    return "extended";
  }
  if (type & PED_PARTITION_LOGICAL) {
    return "logical";
  }
  return "primary";
}

} // namespace

Result<PartitionTable> read_partition_table_file(const std::string& device,
                                                 const std::string& host_file)
{
  std::lock_guard lock(g_parted_mutex);
  g_parted_message.clear();
  ped_exception_set_handler(on_parted_exception);
  PedDevice* dev = ped_device_get(host_file.c_str());
  if (!dev) {
    return fail("{}: cannot read the partition table: {}", device, g_parted_message);
  }
  PartitionTable table;
  table.device = device;
  table.size = static_cast<uint64_t>(dev->length) * static_cast<uint64_t>(dev->sector_size);
  PedDiskType* type = ped_disk_probe(dev);
  if (!type) {
    table.type = "none";
    ped_device_destroy(dev);
    return table;
  }
  table.type = type->name;
  PedDisk* disk = ped_disk_new(dev);
  if (!disk) {
    std::string why = g_parted_message;
    ped_device_destroy(dev);
    return fail("{}: damaged {} partition table: {}", device, table.type, why);
  }
  const bool is_gpt = table.type == "gpt";
  for (PedPartition* p = ped_disk_next_partition(disk, nullptr); p;
       p = ped_disk_next_partition(disk, p)) {
    if (p->num <= 0 || (p->type & (PED_PARTITION_FREESPACE | PED_PARTITION_METADATA))) {
      continue;
    }
    Partition part;
    part.number = p->num;
    part.start = static_cast<uint64_t>(p->geom.start) * static_cast<uint64_t>(dev->sector_size);
    part.size = static_cast<uint64_t>(p->geom.length) * static_cast<uint64_t>(dev->sector_size);
    part.kind = is_gpt ? std::string() : kind_of(p->type);
    if (is_gpt || ped_disk_type_check_feature(disk->type, PED_DISK_TYPE_PARTITION_NAME)) {
      if (const char* name = ped_partition_get_name(p)) {
        part.name = name;
      }
    }
    if (!(p->type & PED_PARTITION_EXTENDED)) {
      for (auto flag = ped_partition_flag_next(static_cast<PedPartitionFlag>(0)); flag;
           flag = ped_partition_flag_next(flag)) {
        if (ped_partition_is_flag_available(p, flag) && ped_partition_get_flag(p, flag)) {
          part.flags.emplace_back(ped_partition_flag_get_name(flag));
        }
      }
    }
    table.partitions.push_back(std::move(part));
  }
  ped_disk_destroy(disk);
  ped_device_destroy(dev);
  return table;
}

Result<PartitionTable> read_partition_table(const std::string& device, uint64_t disk_size,
                                            const DiskReader& read)
{
  char name[] = "/tmp/rehost-ptable-XXXXXX";
  int fd = mkstemp(name);
  if (fd < 0) {
    return fail("cannot create a temporary file in /tmp");
  }
  struct Cleanup {
    const char* path;
    int fd;
    ~Cleanup()
    {
      close(fd);
      unlink(path);
    }
  } cleanup{name, fd};
  if (ftruncate(fd, static_cast<off_t>(disk_size)) != 0) {
    return fail("cannot create a temporary file in /tmp");
  }
  auto copy = [&](uint64_t offset, uint64_t size) -> Result<void> {
    auto bytes = read(offset, static_cast<size_t>(size));
    if (!bytes) {
      return std::unexpected(bytes.error());
    }
    if (pwrite(fd, bytes->data(), bytes->size(), static_cast<off_t>(offset))
        != static_cast<ssize_t>(bytes->size())) {
      return fail("cannot write a temporary file in /tmp");
    }
    return {};
  };
  uint64_t head = std::min(disk_size, k_table_span);
  if (auto r = copy(0, head); !r) {
    return std::unexpected(r.error());
  }
  if (disk_size > head) {
    uint64_t tail = std::min(disk_size - head, k_table_span);
    if (auto r = copy(disk_size - tail, tail); !r) {
      return std::unexpected(r.error());
    }
  }
  return read_partition_table_file(device, name);
}

} // namespace rehost
