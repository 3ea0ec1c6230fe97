// The source disk: what it is, checked before anything else touches it.
#pragma once

#include <cstdint>
#include <string>

#include "converter/error.hpp"

namespace rehost {

enum class SourceKind { image, directory };

struct Source {
  std::string path; // absolute
  SourceKind kind = SourceKind::image;
  std::string format; // "raw", "qcow2", "vmdk", ... (images)
  uint64_t virtual_size = 0;
  uint64_t file_size = 0;
};

enum class DirectoryUse { allowed, refused };

// Checks SOURCE: it exists, is readable, and is a directory (when allowed) or a disk image
// that qemu can open with its whole backing chain. Throws Fatal(bad_source or usage) with a
// one-line message naming the problem.
Source open_source(const std::string& path, DirectoryUse directories);

} // namespace rehost
