// Which operating system a Linux root holds, from its release files.
//
// /etc/os-release (or /usr/lib/os-release) is the source of truth where it exists; older
// releases are recognised from their own release files. The result names the OS the way the
// distribution itself does today (os-release ID), whatever file it came from.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rehost {

struct OsIdentity {
  std::string type = "linux";       // "linux", "windows"
  std::string id;                   // os-release ID: "debian", "ubuntu", "rhel", "ol", ...
  std::vector<std::string> id_like; // os-release ID_LIKE
  std::string version_id;           // "12", "20.04", "8.9"
  std::optional<int> major;
  std::optional<int> minor;
  std::string name; // "Debian GNU/Linux"
  std::string pretty_name;
  std::string codename;
  std::string family; // "debian", "rhel", "suse", "arch", "windows", or the id
  std::string arch;   // "x86_64", "aarch64", "i386", ...
  std::string source; // the file the identity came from
};

// Identifies the OS from the contents of release files, keyed by guest path
// ("/etc/os-release", "/etc/debian_version", ...). Files not present are simply absent from
// the map. Returns nothing when no file identifies an OS. Files that are present but useless
// (binary, no ID) are described in `warnings` when given.
std::optional<OsIdentity> identify_os(const std::map<std::string, std::string>& files,
                                      std::vector<std::string>* warnings = nullptr);

// The release files identify_os() looks at, in the order it prefers them.
const std::vector<std::string>& release_files();

// The family of an os-release ID and ID_LIKE list.
std::string family_of(const std::string& id, const std::vector<std::string>& id_like);

// "x86_64", "aarch64", ... from the ELF header of a guest binary; "" if not ELF.
std::string elf_arch(const std::string& header);

} // namespace rehost
