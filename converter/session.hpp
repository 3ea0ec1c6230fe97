// Opening a guest for a command: the backend, its disk, its root, its inspection.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "converter/disk.hpp"
#include "converter/guest.hpp"
#include "converter/guestfs_guest.hpp"
#include "converter/inspection.hpp"
#include "converter/source.hpp"

namespace rehost {

// Which backend reaches the disk (see README.md, "Backends").
enum class Backend { automatic, native, guestfs };

// "auto", "native", "guestfs"; throws Fatal(usage) for anything else.
Backend parse_backend(const std::string& name);

class NativeDisk;

struct GuestSession {
  GuestSession();
  ~GuestSession();
  GuestSession(GuestSession&&) noexcept;
  GuestSession& operator=(GuestSession&&) noexcept;

  std::unique_ptr<Guest> guest;
  GuestfsGuest* appliance = nullptr;  // set when the guest is behind libguestfs
  std::unique_ptr<NativeDisk> native; // set when the disk is mounted on this host
  std::string backend;                // "guestfs", "native", "directory"
  DiskInfo disk;

  // Stops the appliance cleanly (writes are flushed); a no-op for directories.
  void close();
};

// Opens `image` (or a directory source) with its OS root mounted. `root` picks the root when
// the disk holds several operating systems. Throws Fatal with the right exit code: bad_source
// for a disk with nothing on it, unsupported_guest when no OS (or several, without --root).
GuestSession open_session(const Source& source, const std::string& image, const std::string& format,
                          DiskAccess access, const std::string& root, Backend backend);

// Inspects the session's guest; throws Fatal(unsupported_guest) when the OS is not recognised.
Inspection inspect_session(GuestSession& session, const std::string& what);

} // namespace rehost
