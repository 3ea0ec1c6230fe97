// The Linux half of inspection: kernels and their target drivers, firmware and bootloader,
// initramfs tool, packages, hypervisor and cloud tools, SELinux, network configuration.
//
// Each pass reads guest files only, fills its part of Inspection and turns whatever it cannot
// read or understand into a warning: a strange guest gives a partial answer, never an error.
// Every read is bounded (a file size cap, a cap on directory entries looked at), so a hostile
// guest cannot make inspection slow.
#pragma once

#include "converter/guest.hpp"
#include "converter/inspection.hpp"

namespace rehost {

// Reads a file for inspection: missing is silent; a dangling or looping link, a directory or
// device, a file over `limit` bytes or a read error is a warning in `out`, and nothing.
std::optional<std::string> read_for_inspection(Guest& guest, const std::string& path,
                                               Inspection& out, size_t limit = 1 << 20);

// Every installed kernel (newest first), its image, initramfs and the state of each catalog
// driver (modules.dep, modules.builtin, /boot/config-<version>, module files).
void inspect_linux_kernels(Guest& guest, Inspection& out);

// Firmware (BIOS/UEFI), bootloader, its default entry, kernel and command line. Needs the
// kernels.
void inspect_linux_boot(Guest& guest, Inspection& out);

// Package manager and packages, initramfs tool and host-only mode, tools, SELinux.
void inspect_linux_software(Guest& guest, Inspection& out);

// Network configuration style, interfaces, MAC pinning.
void inspect_linux_network(Guest& guest, Inspection& out);

} // namespace rehost
