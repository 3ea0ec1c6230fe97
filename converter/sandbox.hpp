// Running a guest's own programs natively, fenced in.
//
// The command runs with the guest's file systems as its root, in new mount, PID, network, IPC
// and UTS namespaces:
//   - the root is switched with pivot_root (not chroot), and the old root is detached, so no
//     path leads back to the host's files;
//   - /dev is a fresh tmpfs holding only null, zero, full, random, urandom, tty and the loop
//     devices of the guest's own file systems; the guest's file systems and every tmpfs are
//     mounted nodev, so a device node the guest creates or ships opens nothing;
//   - /proc shows only the sandbox's processes; /sys is read-only, and /sys/firmware shows the
//     guest's firmware, not the converter's (grub-mkconfig looks there);
//   - /run, /tmp and /var/tmp are tmpfs, so scratch files never reach the output image;
//   - the network namespace has only a loopback interface that is down;
//   - capabilities that reach beyond the guest's files are dropped (modules, raw I/O, mount,
//     time, reboot, tracing, network administration), and no_new_privs is set.
// PID 1 of the namespace is a small reaper that dies with rehost, taking every guest process
// with it, so a timeout or a signal ends the whole tree.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "converter/guest.hpp"

namespace rehost {

struct SandboxDevice {
  std::string name;      // in the sandbox's /dev: "sda1"
  std::string host_path; // the block device behind it: "/dev/loop3"
  std::string uuid;      // file system UUID and label, for /dev/disk/by-uuid and by-label
  std::string label;
  // Other names in /dev, "DIR/NAME" ("mapper/vg0-root", "vg0/root"), made as links to it.
  std::vector<std::string> aliases;
};

struct SandboxOptions {
  std::string root;                   // host path of the guest's mounted root
  std::vector<SandboxDevice> devices; // the guest's own block devices
  std::string firmware = "bios";      // the guest's: "bios" or "uefi"
  std::chrono::seconds timeout{1800};
};

// Runs argv (looked up in the guest's PATH) in the sandbox; standard output and error are
// merged. An error when it could not start or ran past the timeout.
Result<CommandResult> run_in_sandbox(const SandboxOptions& options,
                                     const std::vector<std::string>& argv);

// Whether this host can run the sandbox (root, namespaces available).
bool sandbox_available();

} // namespace rehost
