// Listing an initramfs, as the kernel unpacks it.
//
// An initramfs is a sequence of cpio archives (newc format), each either uncompressed or
// compressed (gzip, xz, zstd, lz4, lzma, bzip2), padded with zeros between them. Early-microcode
// images put an uncompressed archive first and the real one, compressed, after it. The cpio
// headers are walked here, as the kernel walks them, for uncompressed segments (to their
// TRAILER!!! entry) and for the stream libarchive decompresses from a compressed segment (to its
// end). libarchive's own cpio reader is not used: on a damaged header it searches onward for
// another and trusts that one's sizes, allocating gigabytes for a forged name.
#pragma once

#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost::drivers {

struct InitramfsListing {
  std::vector<std::string> files;    // paths without a leading "./" or "/"
  std::vector<std::string> segments; // "cpio", "cpio+zstd", ... in order
  std::vector<size_t> offsets;       // where each segment starts in the image
  std::vector<size_t> first_file;    // the index in `files` of each segment's first file
};

// A cpio member name as listings give it: without leading "./" or "/".
std::string image_path(std::string path);

// Lists the initramfs held in `data`.
Result<InitramfsListing> list_initramfs(const std::string& data);

// Lists the initramfs in a host file.
Result<InitramfsListing> list_initramfs_file(const std::string& path);

// Module names ("nvme", "virtio_blk": '-' becomes '_') of the .ko files in a listing, for the
// kernel `version` (or any kernel when empty).
std::vector<std::string> modules_in(const InitramfsListing& listing,
                                    const std::string& version = {});

} // namespace rehost::drivers
