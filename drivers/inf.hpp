// Windows driver INF files: what a driver package installs, read as text.
//
// An INF is an INI-like file: [sections] of `key = value, value` lines (or bare value lists),
// ';' comments, '\' continuation, %name% tokens replaced from [Strings] (and the numeric
// directory ids of the Windows setup API: %12% is System32\drivers). A driver package says
// which devices it serves in [Manufacturer]: each entry names a models section and the
// architectures (decorations such as NTamd64 or NTamd64.10.0...14393) it has one for. A model
// line maps a device description to an install section and hardware ids; the install section
// (also decorated: .NTamd64, .NT, or none) lists CopyFiles sections, and its .Services section
// holds AddService lines pointing at service-install sections (type, start, error control,
// binary, load-order group). parse_inf() only splits and substitutes; read_driver() resolves
// that chain for one architecture and reports a missing section by name and line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost::drivers {

struct InfLine {
  int line = 0;
  std::string key;                 // "" for a line without '='
  std::vector<std::string> values; // substituted, unquoted, trimmed
};

struct InfSection {
  std::string name;
  int line = 0;
  std::vector<InfLine> lines;
};

struct Inf {
  std::string file; // for messages: "viostor.inf"
  std::vector<InfSection> sections;

  // A section by name, case-insensitively; nothing when missing.
  const InfSection* section(const std::string& name) const;
  // The first value of `key` in a section, or "".
  std::string value(const std::string& section, const std::string& key) const;
};

// Splits an INF into sections and lines with %strings% replaced. Never fails on odd text: what
// cannot be understood is kept as it is.
Inf parse_inf(const std::string& text, const std::string& file);

struct InfService {
  std::string name;   // "viostor"
  uint32_t flags = 0; // AddService flags (0x2: the device's function driver)
  uint32_t type = 1;  // ServiceType: 1 kernel driver
  uint32_t start = 3; // StartType: 0 boot, 1 system, 2 auto, 3 demand, 4 disabled
  uint32_t error_control = 1;
  std::string group;        // LoadOrderGroup: "SCSI miniport", "NDIS"
  std::string binary;       // "System32\drivers\viostor.sys" (relative to the system root)
  std::string display_name; // DisplayName, if any
};

struct InfModel {
  std::string description;
  std::string install_section;           // the decorated section actually used
  std::vector<std::string> hardware_ids; // the hardware id, then compatible ids
};

// What a driver package installs on one architecture.
struct InfDriver {
  std::string class_name; // "SCSIAdapter", "Net"
  std::string class_guid;
  std::string provider;
  std::string driver_ver;
  std::string catalog;              // CatalogFile (decorated for the architecture if so)
  std::vector<InfModel> models;     // every device the package serves
  std::vector<InfService> services; // each service once
  std::vector<std::string> files;   // files the CopyFiles sections copy (file names)
  std::vector<std::string> hardware_ids() const;
};

// Resolves the package for `arch` ("amd64", "x86", "arm64") on Windows `major.minor` (model
// sections decorated with a higher OS version are skipped). An error names the missing
// section and the line that referred to it ("viostor.inf:12: [Manufacturer] names models
// section [RHEL.NTamd64], which is missing").
Result<InfDriver> read_driver(const Inf& inf, const std::string& arch = "amd64", int major = 10,
                              int minor = 0, int build = 0);

} // namespace rehost::drivers
