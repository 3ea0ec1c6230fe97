// Partition tables, read with libparted.
//
// libparted opens devices read-write, and the source must never be written; so it is given a
// sparse host file of the disk's size holding only the disk's first and last MiB, which is all
// a partition table (MBR, GPT primary and backup) occupies. The same works for every image
// format, since the bytes come from whichever backend reads the disk.
#pragma once

#include <functional>
#include <string>

#include "converter/disk.hpp"
#include "converter/error.hpp"

namespace rehost {

// Reads `size` bytes at `offset` of the disk.
using DiskReader = std::function<Result<std::string>(uint64_t offset, size_t size)>;

// The bytes read for a snapshot at each end of the disk.
inline constexpr uint64_t k_table_span = 1 << 20;

// Reads the partition table of a disk of `disk_size` bytes named `device`.
// A disk without a recognised table gives type "none" (or "loop" when libparted sees a file
// system on the whole disk).
Result<PartitionTable> read_partition_table(const std::string& device, uint64_t disk_size,
                                            const DiskReader& read);

// The same, for a host file that already holds the table (used by the tests).
Result<PartitionTable> read_partition_table_file(const std::string& device,
                                                 const std::string& host_file);

} // namespace rehost
