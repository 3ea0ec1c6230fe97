// A disk image seen as a plain raw file, through qemu-storage-daemon's FUSE export.
//
// The kernel can attach only raw files to loop devices; a qcow2 overlay (the conversion
// output) or a vmdk is exported as a raw file by qemu-storage-daemon, whose qcow2 driver keeps
// the backing file (the source) read-only. The daemon dies with rehost; stopping it cleanly
// writes the qcow2 metadata.
//
// The daemon runs in a mount namespace of its own, and the raw file is reached through
// /proc/PID/root. Were its FUSE mount in rehost's namespace, a killed rehost would leave the
// daemon as the last process there, and tearing the namespace down (unmounting the guest file
// systems, which write to the export) would wait for the daemon that is tearing it down.
#pragma once

#include <string>

#include "converter/error.hpp"
#include "converter/process.hpp"

namespace rehost {

class BlockExport {
public:
  BlockExport() = default;
  ~BlockExport();
  BlockExport(BlockExport&&) noexcept = default;
  BlockExport& operator=(BlockExport&&) noexcept = default;

  // Exports `image` (of `format`) as the raw file `mountpoint` (created), writable or not.
  static Result<BlockExport> start(const std::string& image, const std::string& format,
                                   const std::string& mountpoint, bool writable);

  // The raw file, as this process reaches it.
  const std::string& path() const { return m_path; }

  // Unmounts the export and stops the daemon, flushing the image; an error if it did not exit
  // cleanly.
  Result<void> stop();

private:
  BackgroundProcess m_daemon;
  std::string m_mountpoint; // in the daemon's namespace
  std::string m_path;       // /proc/PID/root + m_mountpoint
  std::string m_log;
};

} // namespace rehost
