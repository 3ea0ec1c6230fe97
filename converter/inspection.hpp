// Everything rehost learns about a guest before it changes anything.
//
// inspect_guest() reads files only (through Guest) and never fails on a strange guest: what it
// cannot read becomes a warning and an empty field. The rules match on this structure and the
// conversion steps take their facts from it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "converter/disk.hpp"
#include "converter/guest.hpp"
#include "converter/network_config.hpp"
#include "converter/os_identity.hpp"
#include "drivers/linux_modules.hpp"

namespace rehost {

struct KernelInfo {
  std::string version;   // "6.1.0-13-amd64"
  std::string image;     // "/boot/vmlinuz-6.1.0-13-amd64"
  std::string initramfs; // "/boot/initrd.img-6.1.0-13-amd64", "" if none
  bool debug = false;
  // State of every driver any target needs.
  std::map<std::string, drivers::DriverState> drivers;
};

// What the registry of a Windows guest says (empty for other guests).
struct WindowsInfo {
  std::string system_root;     // guest path: "/Windows"
  std::string system_root_win; // as Windows names it: "C:\\Windows"
  std::string system_hive;     // guest paths of the hives
  std::string software_hive;
  std::string product_name;      // "Windows Server 2022 Datacenter"
  std::string edition_id;        // "ServerDatacenter"
  std::string installation_type; // "Server", "Server Core", "Client"
  std::string edition;           // "server" or "client"
  int major = 0;                 // 10, 6, ...
  int minor = 0;
  int build = 0;                                // 20348
  std::string control_set;                      // the one Select\\Current names: "ControlSet001"
  bool driver_database = false;                 // SYSTEM has DriverDatabase (Windows 8 and later)
  std::map<std::string, uint32_t> services;     // services of interest present: name -> Start
  std::map<std::string, std::string> platforms; // service name -> "vmware", "xen", "virtio", ...
  std::vector<std::string> unclean_hives;       // why each hive whose logs hold changes it lacks
                                                // cannot be edited (unclean_hive())
};

struct Inspection {
  OsIdentity os;
  std::optional<WindowsInfo> windows;
  DiskInfo disk;
  std::string firmware;             // "bios" or "uefi"
  std::string firmware_evidence;    // what said so: "ESP partition", an EFI loader, grub's platform
  bool efi_fallback_loader = false; // the ESP holds efi_fallback_name(os.arch)
  bool bios_boot_too = false;       // a UEFI guest with grub installed for BIOS as well
  std::string bootloader;           // "grub2", "grub-legacy", "extlinux", "systemd-boot", ""
  std::string bootloader_config;    // "/boot/grub/grub.cfg"
  bool bootloader_bls = false;      // entries are BLS files (/boot/loader/entries/*.conf)
  std::string default_entry;        // title (or id) of the entry that boots by default
  std::string default_kernel;       // version of the kernel the bootloader boots
  std::string default_cmdline;      // its kernel command line
  std::vector<KernelInfo> kernels;  // newest first
  std::string initramfs_tool;       // "initramfs-tools", "dracut", "mkinitrd", "mkinitcpio", ""
  std::string initramfs_modules_policy;    // initramfs-tools MODULES= ("most", "dep", ...)
  std::optional<bool> initramfs_host_only; // images hold only the drivers of the current host
  std::string package_manager;             // "dpkg", "rpm", "pacman", ""
  std::string package_frontend;            // "apt", "dnf", "yum", "zypper", "pacman", ""
  std::set<std::string> packages;          // installed names: dpkg, pacman, rpm in SQLite
  std::vector<std::string> hypervisor_tools;
  std::vector<std::string> cloud_tools;
  std::string selinux; // SELINUX= of /etc/selinux/config: "enforcing", "permissive", "disabled"
  std::string network_style; // "ifupdown", "netplan", "ifcfg", "wicked", "networkmanager", ...
  std::vector<NetworkInterface> interfaces;
  std::vector<std::string> mac_pinning; // files that pin interface names to MAC addresses
  std::vector<std::string> warnings;

  const KernelInfo* kernel(const std::string& version) const;
  bool has_package(const std::string& name) const { return packages.count(name) > 0; }
};

// The drivers any known target needs; inspection reports the state of each for every kernel.
const std::vector<std::string>& catalog_drivers();

// The loader a UEFI firmware boots from an ESP when no boot entry names one (the removable-media
// path), for a CPU architecture as inspection names it: BOOTX64.EFI for x86_64 (and when the
// architecture is unknown), BOOTAA64.EFI for aarch64, BOOTIA32.EFI for 32-bit x86.
std::string efi_fallback_name(const std::string& arch);

// Inspects the guest mounted behind `guest`. `disk` comes from the backend (empty for a
// directory). Returns nothing when no operating system is found.
std::optional<Inspection> inspect_guest(Guest& guest, const DiskInfo& disk);

// Compares version strings the way package managers do: runs of digits numerically.
int compare_versions(const std::string& a, const std::string& b);

nlohmann::json to_json(const Inspection& inspection);

// The human summary printed by `rehost inspect`.
std::string to_text(const Inspection& inspection);

} // namespace rehost
